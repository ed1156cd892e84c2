from pathlib import Path

from django.utils.translation import gettext as _

from quanwang.core.generated_file import GeneratedFileCommand
from quanwang.data.docs import render_data_model


class Command(GeneratedFileCommand):
    help = _("Write docs/data-model.md from the canonical schema, or check that it is current.")
    default_path = Path("docs/data-model.md")
    fix_command = "quanwang datamodel"

    def render(self) -> str:
        return render_data_model()
