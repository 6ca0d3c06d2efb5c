"""export_pack WORKSHOP_ID --format {pdf,html} [--variant participant|facilitator] -o FILE"""

from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from workshops import pack, services
from workshops.models import WorkshopPage


class Command(BaseCommand):
    help = (
        "Export a workshop's pack, print-ready, as PDF or HTML (the latest saved version). "
        "Consent is checked again: anything no longer allowed is left out, and the pack "
        "says so."
    )

    def add_arguments(self, parser):
        parser.add_argument("workshop_id", type=int, help="The workshop's id (its page id).")
        parser.add_argument("--format", choices=sorted(services.FORMATS), default="pdf")
        parser.add_argument(
            "--variant",
            choices=list(pack.VARIANTS),
            default=pack.PARTICIPANT,
            help="participant (the pack) or facilitator (the guide, with timings and notes).",
        )
        parser.add_argument("-o", "--output", required=True, help="The file to write.")
        parser.add_argument(
            "--base-url",
            default=None,
            help="The site's address, for the QR codes (default: WAGTAILADMIN_BASE_URL).",
        )

    def handle(self, *args, workshop_id, format, variant, output, base_url, **options):
        workshop = WorkshopPage.objects.filter(pk=workshop_id).first()
        if workshop is None:
            raise CommandError(f"There is no workshop with id {workshop_id}.")
        target = Path(output)
        if not target.parent.is_dir():
            raise CommandError(f"The folder {target.parent} does not exist.")
        try:
            result = services.pack_export(
                workshop=workshop, fmt=format, variant=variant, base_url=base_url
            )
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from None
        partial = target.with_name(f".{target.name}.partial")
        partial.write_bytes(result.content)
        partial.replace(target)  # no half-written pack is ever left under the real name
        if result.pack.left_out:
            self.stderr.write(
                f"Left out because it may no longer be used: {result.pack.left_out_summary()}."
            )
            for item in result.pack.left_out:
                self.stderr.write(f"- {item.reason}")
        self.stdout.write(
            f"Wrote the {pack.VARIANTS[variant].lower()} of “{workshop.title}” to {target} "
            f"({len(result.content):,} bytes)."
        )
