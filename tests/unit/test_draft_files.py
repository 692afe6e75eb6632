"""The entrustment form's kept files: a note brings its file back for the user and the input
it was made for, and for no one and nothing else."""

from __future__ import annotations

from pathlib import Path

from app.pages import draft_files
from listings.documents import CheckedFile, DocumentStore

SECRET = "a-secret-key"
PDF = CheckedFile("决议.pdf", "application/pdf", b"%PDF-1.4\n%%EOF\n")


def test_a_kept_file_comes_back_for_its_user_and_input_only(tmp_path: Path) -> None:
    store = DocumentStore(tmp_path)
    kept = draft_files.keep(SECRET, store, 7, "village_resolution", PDF)
    again = draft_files.kept(SECRET, store, 7, "village_resolution", kept.token)
    assert again == kept
    assert again.checked(store) == PDF
    assert draft_files.kept(SECRET, store, 8, "village_resolution", kept.token) is None
    assert draft_files.kept(SECRET, store, 7, "ownership_proof", kept.token) is None
    assert draft_files.kept("another-key", store, 7, "village_resolution", kept.token) is None
    payload, mac = kept.token.split(".")
    tampered = payload[:-2] + ("AA" if payload[-2:] != "AA" else "BB") + "." + mac
    for token in (tampered, "", "x.y", None, 5):
        assert draft_files.kept(SECRET, store, 7, "village_resolution", token) is None


def test_a_note_whose_file_is_gone_brings_nothing(tmp_path: Path) -> None:
    store = DocumentStore(tmp_path)
    kept = draft_files.keep(SECRET, store, 7, "appraisal_report", PDF)
    store.path_for(kept.sha256).unlink()
    assert draft_files.kept(SECRET, store, 7, "appraisal_report", kept.token) is None
