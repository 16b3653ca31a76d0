"""HTML to PDF with WeasyPrint (pure Python on top of Pango; runs no JavaScript)."""

from config import BASE_DIR

PRINT_CSS = BASE_DIR / "static" / "css" / "reports.css"


def html_to_pdf(html: str) -> bytes:
    """Render a self-contained HTML document to PDF bytes, with the report's print CSS.

    The document embeds its charts as SVG, so nothing is fetched: the fetcher allows no
    protocol at all (a report never makes the server request a URL).
    """
    from weasyprint import CSS, HTML
    from weasyprint.urls import URLFetcher

    document = HTML(string=html, url_fetcher=URLFetcher(allowed_protocols=()))
    return document.write_pdf(stylesheets=[CSS(filename=str(PRINT_CSS))])
