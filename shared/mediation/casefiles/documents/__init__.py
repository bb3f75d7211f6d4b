"""Printable documents generated from the records: Jinja2 HTML templates rendered to PDF by
fpdf2 (pure Python, no system libraries) with an embedded CJK font, and the agreement as an
editable DOCX from a Word template (docxtpl). Templates are files: see templates/README.md."""
