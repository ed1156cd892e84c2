import json
from pathlib import Path

from django.utils.translation import gettext as _

from quanwang.core.generated_file import GeneratedFileCommand


def render_schema() -> str:
    from quanwang.api import api

    schema = api.get_openapi_schema(path_prefix="/api/v1")
    return json.dumps(schema, ensure_ascii=False, indent=2, sort_keys=True) + "\n"


class Command(GeneratedFileCommand):
    help = _("Write the OpenAPI schema to a file, or check that the file is current.")
    default_path = Path("docs/openapi.json")
    fix_command = "quanwang openapi"

    def render(self) -> str:
        return render_schema()
