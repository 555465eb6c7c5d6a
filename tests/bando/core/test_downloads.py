from bando.core.downloads import download, safe_filename


def test_a_name_keeps_only_what_a_header_and_a_file_system_take():
    assert safe_filename("lettere-cdq-2019.zip") == "lettere-cdq-2019.zip"
    assert safe_filename('a"b\r\nSet-Cookie: x.pdf') == "a-b-Set-Cookie-x.pdf"
    assert safe_filename("../../etc/passwd") == "etc-passwd"
    assert safe_filename("relazione è finale.pdf") == "relazione-finale.pdf"
    assert safe_filename('"') == "file"


def test_a_download_is_saved_or_shown_under_its_name(app):
    with app.test_request_context():
        saved = download(b"%PDF-1.7", "application/pdf", "statuto.pdf")
        shown = download(b"%PDF-1.7", "application/pdf", "statuto.pdf", inline=True)
    assert saved.headers["Content-Disposition"] == 'attachment; filename="statuto.pdf"'
    assert shown.headers["Content-Disposition"] == 'inline; filename="statuto.pdf"'
    assert saved.mimetype == "application/pdf" and saved.get_data() == b"%PDF-1.7"
