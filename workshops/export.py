"""Print-ready packs: one HTML document (print CSS: page numbers, contents with page
references, accessible type) that WeasyPrint turns into PDF. Everything the document needs
is inside it (charts and QR codes as data: URIs), and WeasyPrint may fetch nothing else:
nothing is requested from anywhere, not even this server."""

import logging

from django.template.loader import render_to_string

from workshops.pack import Pack

# WeasyPrint reports every layout step at INFO: keep the server's log for what matters.
for name in ("weasyprint", "weasyprint.progress", "fontTools"):
    logging.getLogger(name).setLevel(logging.WARNING)


def render_html(pack: Pack) -> str:
    return render_to_string("workshops/export/pack.html", {"pack": pack})


def html_to_pdf(html: str) -> bytes:
    import weasyprint  # Pango and friends: only when a PDF is wanted
    from weasyprint.urls import URLFetcher

    document = weasyprint.HTML(
        string=html, base_url=None, url_fetcher=URLFetcher(allowed_protocols={"data"})
    )
    return document.write_pdf(pdf_tags=True)
