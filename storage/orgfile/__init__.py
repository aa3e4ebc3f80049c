"""The organisation file: one YAML document for places, people, roles, teams and categories.

`load_org_file` reads and validates it (reading, schema, checks), naming each problem by its
place in the file (`people[3].roles[0].scope: unknown place 'g-heping-9'`); `import_org`
(importing, upserts, staff, report) writes it to the database in one transaction, updating by
code so that importing again duplicates nothing.
"""

from storage.orgfile.checks import PlaceEntry, check_org, org_warnings, place_entries
from storage.orgfile.importing import import_org
from storage.orgfile.reading import OrgFileError, load_org_file, parse_org
from storage.orgfile.report import ImportReport, Tally
from storage.orgfile.schema import (
    BilingualName,
    BuildingSpec,
    CategorySpec,
    CommunitySpec,
    DepartmentSpec,
    GridSpec,
    KeyHouseholdSpec,
    OrgFile,
    PersonSpec,
    RoleSpec,
    StreetSpec,
    TeamSpec,
    UnitSpec,
)

__all__ = [
    "BilingualName",
    "BuildingSpec",
    "CategorySpec",
    "CommunitySpec",
    "DepartmentSpec",
    "GridSpec",
    "ImportReport",
    "KeyHouseholdSpec",
    "OrgFile",
    "OrgFileError",
    "PersonSpec",
    "PlaceEntry",
    "RoleSpec",
    "StreetSpec",
    "Tally",
    "TeamSpec",
    "UnitSpec",
    "check_org",
    "import_org",
    "load_org_file",
    "org_warnings",
    "parse_org",
    "place_entries",
]
