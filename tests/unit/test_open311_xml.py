"""GeoReport's XML, written as text: well-formed for any words a resident or partner typed."""

from __future__ import annotations

from xml.etree import ElementTree

from bot.open311.formats import to_xml


def test_the_xml_escapes_markup_and_leaves_out_what_xml_cannot_hold() -> None:
    items = [
        {
            "service_request_id": "00042",
            "description": 'a <b> & "c"\x01\x1f\tend',
            "status_notes": None,
            "public": True,
            "attributes": [{"code": "urgency"}],
        }
    ]
    root = ElementTree.fromstring(to_xml("service_requests", "request", items))
    request = root.find("request")
    assert root.tag == "service_requests" and request is not None
    assert request.findtext("description") == 'a <b> & "c"\tend'
    assert request.findtext("status_notes") == ""
    assert request.findtext("public") == "true"
    assert request.findtext("attributes/attribute/code") == "urgency"
