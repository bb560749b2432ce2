"""Reading transcripts (ingest.py) and storing them (corpus.add_files): speakers, offsets, re-adding.

Every test builds small real files in tmp_path and checks real outputs; nothing of ours is mocked.
"""
from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from autocode import Project
from autocode.corpus import add_files, utterances
from autocode.errors import AutocodeError
from autocode.ingest import NOT_SPOKEN, is_interviewer, read_transcripts

from conftest import SHARED, snapshot


# -- helpers ---------------------------------------------------------------------------------

def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return path


def read_one(path: Path):
    [t] = read_transcripts(path)
    return t


def spoken(t) -> list[tuple[str, str]]:
    return [(turn.speaker, t.text[turn.start:turn.end]) for turn in t.turns]


def assert_turn_offsets(t) -> None:
    """Turns are in order, inside the text, non-empty, and carry no surrounding whitespace."""
    assert "\r" not in t.text
    assert not t.text.startswith("\ufeff")
    previous_end = 0
    for turn in t.turns:
        assert 0 <= previous_end <= turn.start < turn.end <= len(t.text), turn
        chunk = t.text[turn.start:turn.end]
        assert chunk == chunk.strip()
        previous_end = turn.end


def assert_stored_offsets(project: Project) -> int:
    """Every stored utterance is exactly its slice of the stored document text."""
    rows = project.conn.execute(
        "SELECT d.text AS doc, u.start, u.end, u.text FROM utterances u JOIN documents d ON d.id = u.document"
    ).fetchall()
    assert rows
    for r in rows:
        assert r["doc"][r["start"]:r["end"]] == r["text"]
        assert r["text"] == r["text"].strip() and r["text"]
    return len(rows)


def stored(project: Project, doc: str) -> list[tuple]:
    return [tuple(r) for r in project.conn.execute(
        "SELECT idx, speaker, is_interviewer, start, end, text, source_id FROM utterances"
        " WHERE document = ? ORDER BY idx", (doc,))]



# -- labelled text: .txt -----------------------------------------------------------------------

def test_txt_name_colon_labels(tmp_path):
    t = read_one(write(tmp_path, "a.txt", "Interviewer: How was it?\nMaria: Fine, thanks.\n"
                                           "Interviewer: Anything else?\nMaria: No.\n"))
    assert t.id == "a" and t.format == "txt"
    assert spoken(t) == [("Interviewer", "How was it?"), ("Maria", "Fine, thanks."),
                         ("Interviewer", "Anything else?"), ("Maria", "No.")]
    assert_turn_offsets(t)


def test_txt_bracketed_timestamp_before_label(tmp_path):
    t = read_one(write(tmp_path, "a.txt", "[00:01:02] Interviewer: How was it?\n[00:01:09] P1: Good.\n"
                                           "[1:02:03.5] P1: Really good.\n"))
    assert spoken(t) == [("Interviewer", "How was it?"), ("P1", "Good."), ("P1", "Really good.")]
    assert all("[" not in text for _, text in spoken(t))


def test_txt_timestamp_in_parentheses_after_name(tmp_path):
    t = read_one(write(tmp_path, "a.txt", "Interviewer (00:01:02): How was it?\nDr Lee (00:01:09): Good.\n"
                                           "Dr Lee ( 00:02:10 ):  Very good.\n"))
    assert spoken(t) == [("Interviewer", "How was it?"), ("Dr Lee", "Good."), ("Dr Lee", "Very good.")]


def test_txt_lowercase_and_numbered_labels(tmp_path):
    t = read_one(write(tmp_path, "a.txt", "interviewer: So, tell me.\ninterviewee: Well, I started in 2019.\n"
                                           "Interviewer 1: And then?\nInterviewer1 : Go on.\n"
                                           "interviewee: Then I moved.\n"))
    assert spoken(t) == [("interviewer", "So, tell me."), ("interviewee", "Well, I started in 2019."),
                         ("Interviewer 1", "And then?"), ("Interviewer1", "Go on."),
                         ("interviewee", "Then I moved.")]
    flags = [is_interviewer(turn.speaker) for turn in t.turns]
    assert flags == [True, False, True, True, False]


def test_txt_unlabelled_line_continues_current_turn(tmp_path):
    text = "Interviewer: Tell me about it.\nP1: It started in May.\nThen it got worse.\n\nP1: Anyway.\n"
    t = read_one(write(tmp_path, "a.txt", text))
    assert spoken(t) == [("Interviewer", "Tell me about it."),
                         ("P1", "It started in May.\nThen it got worse."), ("P1", "Anyway.")]


def test_txt_sentence_with_colon_is_not_a_speaker(tmp_path):
    text = ("Interviewer: What did you tell him?\nP1: I told him straight.\nWhat I said was: no\n"
            "Interviewer: Right.\nP1: Yes.\n")
    t = read_one(write(tmp_path, "a.txt", text))
    assert {turn.speaker for turn in t.turns} == {"Interviewer", "P1"}
    assert spoken(t)[1] == ("P1", "I told him straight.\nWhat I said was: no")


def test_txt_clock_times_are_not_speakers(tmp_path):
    text = "Interviewer: When did you meet?\nP1: At lunch.\n12:30: we met\n12:30: again\nP1: That's it.\n"
    t = read_one(write(tmp_path, "a.txt", text))
    assert [turn.speaker for turn in t.turns] == ["Interviewer", "P1", "P1"]
    assert spoken(t)[1] == ("P1", "At lunch.\n12:30: we met\n12:30: again")


def test_txt_text_before_first_label_is_kept_as_heading_not_coded(tmp_path, project):
    path = write(tmp_path, "a.txt", "Recorded on Monday.\nInterviewer: Hi.\nP1: Hello.\nP1: Bye.\n")
    t = read_one(path)
    assert spoken(t)[0] == (NOT_SPOKEN, "Recorded on Monday.")
    assert [s for s, _ in spoken(t)[1:]] == ["Interviewer", "P1", "P1"]
    assert "heading" in t.warnings[0] and "Recorded on Monday." in t.warnings[0]
    add_files(project, [path])
    assert [r[1] for r in stored(project, "a") if not r[2]] == ["P1", "P1"]   # the heading is not coded


def test_txt_particulars_are_not_speakers(tmp_path):
    text = ("Study: Peer support in psychiatry\nDate: 12 March 2024\nLocation: Zoom\nDuration: 45 min\n\n"
            "Interviewer: What changed?\nDr Khan: A lot.\nOverall: they have changed the ward culture.\n"
            "Interviewer: How?\nDr Khan: Slowly.\n")
    t = read_one(write(tmp_path, "a.txt", text))
    assert [s for s, _ in spoken(t)] == [NOT_SPOKEN, "Interviewer", "Dr Khan", "Interviewer", "Dr Khan"]
    assert spoken(t)[2] == ("Dr Khan", "A lot.\nOverall: they have changed the ward culture.")
    assert_turn_offsets(t)


@pytest.mark.parametrize("time", ["0:03", "00:00:03", "(00:03)", "[00:03]"])
def test_txt_name_and_time_on_a_line_of_their_own(tmp_path, time):
    """Otter and Word's transcription: the speaker and a time, then the speech below."""
    text = (f"Interviewer  {time}\nWhat do peer workers add?\n\nDr Lars Berg  {time}\nThey add hope, mostly.\n"
            f"And time.\n\nInterviewer  {time}\nThanks.\n\nDr Lars Berg  {time}\nA pleasure.\n")
    t = read_one(write(tmp_path, "a.txt", text))
    assert spoken(t) == [("Interviewer", "What do peer workers add?"),
                         ("Dr Lars Berg", "They add hope, mostly.\nAnd time."), ("Interviewer", "Thanks."),
                         ("Dr Lars Berg", "A pleasure.")]
    assert_turn_offsets(t)


def test_txt_unicode_crlf_and_bom_offsets_exact(tmp_path):
    text = "\ufeffInterviewer: Café ok — really? 😀\r\nP1: Très bien — merci 🙂 naïve.\r\nstill me\r\nP1: Fin.\r\n"
    t = read_one(write(tmp_path, "a.txt", text))
    assert t.text.startswith("Interviewer: Café")
    assert "\r" not in t.text and "\ufeff" not in t.text
    assert spoken(t) == [("Interviewer", "Café ok — really? 😀"),
                         ("P1", "Très bien — merci 🙂 naïve.\nstill me"), ("P1", "Fin.")]
    assert_turn_offsets(t)


def test_txt_lone_carriage_returns_are_normalised(tmp_path):
    t = read_one(write(tmp_path, "a.txt", "Interviewer: One?\rP1: Two.\rP1: Three.\r"))
    assert t.text == "Interviewer: One?\nP1: Two.\nP1: Three.\n"
    assert spoken(t) == [("Interviewer", "One?"), ("P1", "Two."), ("P1", "Three.")]


def test_txt_without_labels_is_one_speaker_with_warning(tmp_path, project):
    path = write(tmp_path, "notes.txt", "I just talked about my job.\n\nThen about my family.\n")
    t = read_one(path)
    assert {turn.speaker for turn in t.turns} == {"Participant"}
    assert spoken(t) == [("Participant", "I just talked about my job."), ("Participant", "Then about my family.")]
    assert t.warnings and "notes.txt" in t.warnings[0]
    report = add_files(project, [path])
    assert any("notes.txt" in w for w in report.warnings)
    assert {r[1] for r in stored(project, "notes")} == {"Participant"}


def test_txt_with_labels_has_no_warning(tmp_path):
    t = read_one(write(tmp_path, "a.txt", "Interviewer: Hi.\nP1: Hello.\n"))
    assert t.warnings == []


# -- other formats ------------------------------------------------------------------------------

def test_md_labels(tmp_path):
    t = read_one(write(tmp_path, "a.md", "Interviewer: Première question — ça va?\n\nP2: Oui 😀.\n\nP2: Et toi?\n"))
    assert t.format == "md"
    assert spoken(t) == [("Interviewer", "Première question — ça va?"), ("P2", "Oui 😀."), ("P2", "Et toi?")]
    assert_turn_offsets(t)


def test_docx_labels(tmp_path):
    docx = pytest.importorskip("docx")
    document = docx.Document()
    for para in ["Interviewer: Was the role clear — at all?", "Dr Ahmed: Not really. Café talk, mostly 😀.",
                 "", "It came up later.", "Interviewer: Thanks.", "Dr Ahmed: Sure."]:
        document.add_paragraph(para)
    path = tmp_path / "d.docx"
    document.save(path)
    t = read_one(path)
    assert t.id == "d" and t.format == "docx"
    assert spoken(t) == [("Interviewer", "Was the role clear — at all?"),
                         ("Dr Ahmed", "Not really. Café talk, mostly 😀.\n\nIt came up later."),
                         ("Interviewer", "Thanks."), ("Dr Ahmed", "Sure.")]
    assert_turn_offsets(t)


ZOOM_VTT = """WEBVTT

1
00:00:01.000 --> 00:00:03.000
Alice Smith: Hello there.

2
00:00:03.000 --> 00:00:05.000
Alice Smith: How are you — today?

3
00:00:05.000 --> 00:00:07.000
Bob: Très bien 😀.

4
00:00:07.000 --> 00:00:09.000
Alice Smith: Good.
"""

TEAMS_VTT = """WEBVTT

3f2a/12-0
00:00:03.120 --> 00:00:07.480
<v Interviewer>Thanks for
joining.</v>

3f2a/13-0
00:00:08.351 --> 00:00:11.226
<v Dr Mensah>Yes, I can hear you.</v>

3f2a/13-1
00:00:11.308 --> 00:00:14.964
<v Dr Mensah>Sorry I'm late — clinic overran.</v>

3f2a/14-0
00:00:15.000 --> 00:00:16.000
<v Interviewer>No problem.</v>
"""


def test_vtt_zoom_style_merges_consecutive_cues(tmp_path):
    t = read_one(write(tmp_path, "z.vtt", ZOOM_VTT))
    assert t.format == "vtt" and t.id == "z"
    assert spoken(t) == [("Alice Smith", "Hello there. How are you — today?"), ("Bob", "Très bien 😀."),
                         ("Alice Smith", "Good.")]
    assert_turn_offsets(t)


def test_vtt_teams_voice_tags(tmp_path):
    t = read_one(write(tmp_path, "t.vtt", TEAMS_VTT))
    assert spoken(t) == [("Interviewer", "Thanks for joining."),
                         ("Dr Mensah", "Yes, I can hear you. Sorry I'm late — clinic overran."),
                         ("Interviewer", "No problem.")]
    assert "<v" not in t.text and "</v>" not in t.text
    assert_turn_offsets(t)


def test_vtt_crlf_and_bom(tmp_path):
    t = read_one(write(tmp_path, "t.vtt", "\ufeff" + TEAMS_VTT.replace("\n", "\r\n")))
    assert spoken(t)[1] == ("Dr Mensah", "Yes, I can hear you. Sorry I'm late — clinic overran.")


def test_srt_labels_tags_and_unlabelled_cues(tmp_path):
    srt = ("1\n00:00:01,000 --> 00:00:03,000\nAlice: Hello there.\n\n"
           "2\n00:00:03,000 --> 00:00:05,000\nAlice: <i>Still</i> me.\n\n"
           "3\n00:00:05,000 --> 00:00:07,000\nBob: Hi — ça va?\n\n"
           "4\n00:00:07,000 --> 00:00:09,000\nand more\nfrom Bob\n")
    t = read_one(write(tmp_path, "s.srt", srt))
    assert t.format == "srt"
    assert spoken(t) == [("Alice", "Hello there. Still me."), ("Bob", "Hi — ça va? and more from Bob")]
    assert_turn_offsets(t)


def test_vtt_cue_starting_with_clock_time_is_not_a_speaker(tmp_path):
    vtt = ZOOM_VTT + "\n5\n00:00:09.000 --> 00:00:11.000\n12:30 works for me.\n"
    t = read_one(write(tmp_path, "z.vtt", vtt))
    assert spoken(t)[-1] == ("Alice Smith", "Good. 12:30 works for me.")


def test_srt_sentence_with_colon_is_not_a_speaker(tmp_path):
    srt = ("1\n00:00:01,000 --> 00:00:03,000\nAlice: I asked him straight out.\n\n"
           "2\n00:00:03,000 --> 00:00:05,000\nWhat he said was: no.\n\n"
           "3\n00:00:05,000 --> 00:00:07,000\nBob: Really?\n")
    t = read_one(write(tmp_path, "s.srt", srt))
    assert spoken(t) == [("Alice", "I asked him straight out. What he said was: no."), ("Bob", "Really?")]


def test_otter_export_opening_footer_and_a_speaker_heard_once(tmp_path):
    """Otter's date line, keyword block and footer are nobody's words; a transcriber's note is
    kept apart from the speech; a focus group member who speaks once is a speaker."""
    text = ("Interview P04\nMon, 6/5 9:03AM \u2022 48:52\nAge: 34\nSUMMARY KEYWORDS\npeer support, workers, ward\n"
            "SPEAKERS\nDr Berg, Maria\n\nMaria  0:03\nWhat changed?\n\nDr Berg  0:10\nI saw it that day.\n"
            "Then the ward.\nNote: shows a leaflet\n\nBen  0:30\nSame for me.\n\nMaria  0:40\nThanks.\n\n"
            "Dr Berg  0:45\nA pleasure.\n\nTranscribed by https://otter.ai\n")
    t = read_one(write(tmp_path, "P04.txt", text))
    said = spoken(t)
    first = next(i for i, (who, _) in enumerate(said) if who != NOT_SPOKEN)
    assert "\n".join(x for _, x in said[:first]) == ("Interview P04\nMon, 6/5 9:03AM \u2022 48:52\nAge: 34\n"
                                                    "SUMMARY KEYWORDS\npeer support, workers, ward\nSPEAKERS\nDr Berg, Maria")
    assert said[first:] == [("Maria", "What changed?"), ("Dr Berg", "I saw it that day.\nThen the ward."),
                            (NOT_SPOKEN, "Note: shows a leaflet"), ("Ben", "Same for me."), ("Maria", "Thanks."),
                            ("Dr Berg", "A pleasure."), (NOT_SPOKEN, "Transcribed by https://otter.ai")]
    assert_turn_offsets(t)


def test_names_and_times_inside_answers_of_a_colon_labelled_transcript(tmp_path):
    """"Dr Smith 10:30" or "Lunch 12:30" on a line of its own inside an answer is no speaker in a
    file of "Name: text" lines; nor is a line starting "Time:" a note."""
    text = ("Interviewer: What happened?\nP1: I saw\nDr Smith 10:30\nthat day. Then\nLunch 12:30\n"
            "Time: we never had enough of it.\nInterviewer: Thanks.\n")
    t = read_one(write(tmp_path, "a.txt", text))
    assert spoken(t) == [("Interviewer", "What happened?"),
                         ("P1", "I saw\nDr Smith 10:30\nthat day. Then\nLunch 12:30\nTime: we never had enough of it."),
                         ("Interviewer", "Thanks.")]


def test_a_speakers_name_alone_on_a_line_starts_their_turn(tmp_path):
    """A speaker known from "Name: text" lines, or one the transcription service could not tell,
    alone on a line with the speech below (a real interview set mixes the two layouts); a word
    that is no speaker's name alone on a line stays part of the answer."""
    text = ("Interviewer: Anything else?\nInterviewee: Yes, one thing.\n\nInterviewer: Go on.\n\nInterviewee \n"
            "Don't rush it. We have time.\n\nUnknown Speaker\nAre you interested in scaling?\n\n"
            "Interviewer: Thanks.\nInterviewee: Also\nScaling\nmatters.\n")
    t = read_one(write(tmp_path, "a.txt", text))
    assert spoken(t) == [("Interviewer", "Anything else?"), ("Interviewee", "Yes, one thing."), ("Interviewer", "Go on."),
                         ("Interviewee", "Don't rush it. We have time."),
                         ("Unknown Speaker", "Are you interested in scaling?"), ("Interviewer", "Thanks."),
                         ("Interviewee", "Also\nScaling\nmatters.")]
    assert_turn_offsets(t)


def test_a_speakers_name_said_inside_a_turn_stays_part_of_it(tmp_path):
    text = "Anna: Hello.\nBen: There were three of us on shift.\nAnna\nwas the charge nurse.\nAnna: Right.\n"
    t = read_one(write(tmp_path, "a.txt", text))
    assert spoken(t) == [("Anna", "Hello."), ("Ben", "There were three of us on shift.\nAnna\nwas the charge nurse."),
                         ("Anna", "Right.")]


def test_paragraphs_before_the_first_label_stay_someones_words(tmp_path):
    long = " ".join(["word"] * 40) + "."
    t = read_one(write(tmp_path, "a.txt", f"{long}\n\nInterviewer: Go on.\nP1: Well.\nP1: Yes.\n"))
    assert spoken(t)[0] == ("Participant", long) and not any("heading" in w for w in t.warnings)


def test_vtt_one_cue_two_speakers(tmp_path):
    """Teams and Zoom both put a quick exchange in one cue: the second speaker keeps their words."""
    teams = ("WEBVTT\n\n1\n00:00:01.000 --> 00:00:04.000\n<v Interviewer>Great.</v>\n"
             "<v Dr O'Brien>But the pay is poor.</v>\n\n2\n00:00:05.000 --> 00:00:06.000\n<v Interviewer>Why?</v>\n")
    t = read_one(write(tmp_path, "t.vtt", teams))
    assert spoken(t) == [("Interviewer", "Great."), ("Dr O'Brien", "But the pay is poor."), ("Interviewer", "Why?")]
    zoom = ("WEBVTT\n\n1\n00:00:01.000 --> 00:00:04.000\nInterviewer: OK.\nDr Yara Haddad: But honestly the "
            "supervision is thin.\n\n2\n00:00:05.000 --> 00:00:06.000\nDr Yara Haddad: Very thin.\n\n"
            "3\n00:00:07.000 --> 00:00:08.000\nInterviewer: Go on.\nWhat I said was: no.\n")
    t = read_one(write(tmp_path, "z.vtt", zoom))
    assert spoken(t) == [("Interviewer", "OK."), ("Dr Yara Haddad", "But honestly the supervision is thin. Very thin."),
                         ("Interviewer", "Go on. What I said was: no.")]
    assert_turn_offsets(t)


def test_captions_escapes_are_read(tmp_path):
    vtt = ("WEBVTT\n\n1\n00:00:01.000 --> 00:00:04.000\nDr Hana Novak: They&#39;re great &amp; calm &lt;3.\n\n"
           "2\n00:00:05.000 --> 00:00:06.000\nInterviewer: Why?\n")
    assert spoken(read_one(write(tmp_path, "e.vtt", vtt)))[0] == ("Dr Hana Novak", "They're great & calm <3.")
    srt = "1\n00:00:01,000 --> 00:00:03,000\nAlice: Fish &amp; chips.\n\n2\n00:00:03,000 --> 00:00:05,000\nBob: Yes.\n"
    assert spoken(read_one(write(tmp_path, "e.srt", srt)))[0] == ("Alice", "Fish & chips.")


def test_docx_transcript_laid_out_as_a_table(tmp_path):
    docx = pytest.importorskip("docx")
    document = docx.Document()
    document.add_heading("Interview P11", 1)
    table = document.add_table(0, 3)
    for row in [("Time", "Speaker", "Text"), ("00:01", "Interviewer", "What do peer workers bring?"),
                ("00:05", "Dr Olu Ade", "They bring lived experience\nand hope."), ("00:12", "Interviewer", "Thanks.")]:
        cells = table.add_row().cells
        for cell, value in zip(cells, row):
            cell.text = value
    document.add_paragraph("End of interview.")
    path = tmp_path / "table_P11.docx"
    document.save(path)
    t = read_one(path)
    assert spoken(t)[1:] == [("Interviewer", "What do peer workers bring?"),
                             ("Dr Olu Ade", "They bring lived experience and hope."),
                             ("Interviewer", "Thanks.\nEnd of interview.")]
    assert spoken(t)[0][0] == NOT_SPOKEN
    assert_turn_offsets(t)


def test_word_lock_file_is_named_as_such(tmp_path):
    path = tmp_path / "~$good3.docx"
    path.write_bytes(b"\x05Tom   ")
    with pytest.raises(AutocodeError, match="lock file Word keeps"):
        read_transcripts(path)


def test_csv_several_documents_with_ids(tmp_path):
    csv = ("document,speaker,text,id\nA,Interviewer,Hello  there,r1\n"
           "A,P1,\"Fine,\nthanks — 😀\",r2\nB,P2,Café au lait,r3\nA,P1,,r4\nA,,No speaker,r5\n")
    ts = read_transcripts(write(tmp_path, "t.csv", csv))
    assert [t.id for t in ts] == ["A", "B"]
    a, b = ts
    assert a.format == "csv" and a.presegmented
    assert spoken(a) == [("Interviewer", "Hello there"), ("P1", "Fine, thanks — 😀"), ("Participant", "No speaker")]
    assert [turn.source_id for turn in a.turns] == ["r1", "r2", "r5"]
    assert spoken(b) == [("P2", "Café au lait")]
    for t in ts:
        assert_turn_offsets(t)


def test_csv_without_document_column_uses_file_stem(tmp_path):
    [t] = read_transcripts(write(tmp_path, "focus group.csv", "\ufefftext\r\nhello there\r\nworld\r\n"))
    assert t.id == "focus group"
    assert spoken(t) == [("Participant", "hello there"), ("Participant", "world")]
    assert [turn.source_id for turn in t.turns] == ["2", "3"]  # spreadsheet row numbers


def test_csv_without_text_column_is_an_error(tmp_path):
    with pytest.raises(AutocodeError, match="no 'text' column"):
        read_transcripts(write(tmp_path, "t.csv", "document,words\nA,hi\n"))


def test_xlsx_several_documents(tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Document", "Speaker", "Text", "ID"])
    ws.append(["X", "Q", "Why — exactly?", 1])
    ws.append(["Y", "P1", "Other doc 😀", 3])
    ws.append(["X", "P1", "Because.", 2])
    ws.append(["X", "P1", None, 4])
    path = tmp_path / "t.xlsx"
    wb.save(path)
    x, y = read_transcripts(path)
    assert (x.id, y.id) == ("X", "Y") and x.format == "xlsx"
    assert spoken(x) == [("Q", "Why — exactly?"), ("P1", "Because.")]
    assert [turn.source_id for turn in x.turns] == ["1", "2"]
    assert spoken(y) == [("P1", "Other doc 😀")]


# -- errors -----------------------------------------------------------------------------------

@pytest.mark.parametrize("name, content, message", [
    ("a.pdf", b"%PDF", "cannot read '.pdf'"),
    ("a.txt", b"  \n\n", "empty"),
    ("a.txt", "Interviewer: caf\u00e9\n".encode("latin-1"), "not UTF-8"),
    ("a.vtt", b"not a caption file\n", "WebVTT"),
])
def test_unreadable_files_raise_autocode_error(tmp_path, name, content, message):
    with pytest.raises(AutocodeError, match=message):
        read_transcripts(write(tmp_path, name, content))


def test_missing_file_raises(tmp_path):
    with pytest.raises(AutocodeError, match="not found"):
        read_transcripts(tmp_path / "nope.txt")


def test_bad_file_means_nothing_is_added(tmp_path, project):
    good = write(tmp_path, "good.txt", "Interviewer: Hi.\nP1: Hello there.\n")
    bad = write(tmp_path, "bad.txt", b"P1: \xff\xfe\n")
    before = snapshot(project)
    with pytest.raises(AutocodeError):
        add_files(project, [good, bad])
    assert snapshot(project) == before


def test_two_files_with_same_document_id_are_refused(tmp_path, project):
    a = write(tmp_path, "P1.txt", "Interviewer: Hi.\nP1: Hello.\n")
    b = write(tmp_path, "P1.md", "Interviewer: Hi.\nP1: Hello.\n")
    with pytest.raises(AutocodeError, match="same document id 'P1'"):
        add_files(project, [a, b])


# -- stored offsets for every format ----------------------------------------------------------

def test_add_files_stores_exact_offsets_for_every_format(tmp_path, project):
    docx = pytest.importorskip("docx")
    openpyxl = pytest.importorskip("openpyxl")
    files = [
        write(tmp_path, "t1.txt", "\ufeffInterviewer: Café — ok? 😀\r\nP1: Yes. Mm-hm. I went on. [laughs] "
                                   "Next thing I knew we were out — really out.\r\nmore here\r\nP1: Fin.\r\n"),
        write(tmp_path, "t2.md", "Interviewer (00:00:01): Hi — there.\n\nP2 (00:00:05): Naïve question, "
                                 "but: why? Yeah.\n\nP2 (00:00:09): Right.\n"),
        write(tmp_path, "t3.vtt", ZOOM_VTT),
        write(tmp_path, "t4.vtt", TEAMS_VTT),
        write(tmp_path, "t5.srt", "1\n00:00:01,000 --> 00:00:03,000\nAlice: Hello — there 😀.\n\n"
                                  "2\n00:00:03,000 --> 00:00:05,000\nBob: Hi. How are you doing today?\n"),
        write(tmp_path, "t6.csv", "document,speaker,text,id\nC1,Q,Why — é?,a\nC1,P1,Because 😀.,b\nC2,P1,Other.,c\n"),
    ]
    document = docx.Document()
    for para in ["Interviewer: Was it clear — at all?", "Dr Ahmed: Not really. Café 😀.", "Dr Ahmed: No."]:
        document.add_paragraph(para)
    document.save(tmp_path / "t7.docx")
    wb = openpyxl.Workbook()
    wb.active.append(["document", "text"])
    wb.active.append(["X1", "Über — 😀 text."])
    wb.save(tmp_path / "t8.xlsx")
    files += [tmp_path / "t7.docx", tmp_path / "t8.xlsx"]

    report = add_files(project, files)
    assert sorted(report.added) == ["C1", "C2", "X1", "t1", "t2", "t3", "t4", "t5", "t7"]
    n = assert_stored_offsets(project)
    assert n == report.utterances
    docs = {r["id"]: r for r in project.conn.execute("SELECT id, format, text FROM documents")}
    assert all("\r" not in d["text"] and "\ufeff" not in d["text"] for d in docs.values())
    assert docs["t1"]["format"] == "txt" and docs["C1"]["format"] == "csv" and docs["X1"]["format"] == "xlsx"
    texts = [r[0] for r in project.conn.execute("SELECT text FROM utterances")]
    assert not any(t.startswith(("Interviewer", "P1", "P2", "Alice", "Bob", "Dr Ahmed", "(", "[0")) for t in texts)
    assert "Yes. Mm-hm. I went on. [laughs] Next thing I knew we were out — really out.\nmore here" in texts
    # table rows are stored as they are, one utterance each, with their ids
    assert [r[5:] for r in stored(project, "C1")] == [("Why — é?", "a"), ("Because 😀.", "b")]


def test_add_files_reads_a_folder(tmp_path, project):
    folder = tmp_path / "in"
    folder.mkdir()
    write(folder, "A.txt", "Interviewer: Hi.\nP1: Hello there, friend.\n")
    write(folder, "B.vtt", TEAMS_VTT)
    write(folder, "ignored.pdf", b"%PDF")
    report = add_files(project, [folder])
    assert sorted(report.added) == ["A", "B"]
    assert_stored_offsets(project)


# -- interviewers ------------------------------------------------------------------------------

@pytest.mark.parametrize("label", ["Interviewer", "interviewer", "I", "Q", "Int", "Researcher", "Moderator",
                                   "Facilitator", "Interviewer 2", "Int1", "INTERVIEWER_3", " Q "])
def test_is_interviewer(label):
    assert is_interviewer(label)


@pytest.mark.parametrize("label", ["Interviewee", "interviewee", "P1", "Dr Who", "Participant", "Intern", "Questioner"])
def test_is_not_interviewer(label):
    assert not is_interviewer(label)


def test_extra_interviewer_names():
    assert is_interviewer("Dr Who", ("Dr Who",))
    assert is_interviewer("dr who", ("Dr Who",))
    assert not is_interviewer("Dr Whom", ("Dr Who",))


def test_interviewer_utterances_are_flagged_and_left_out(tmp_path, project):
    path = write(tmp_path, "a.txt", "Dr Who: Where were you?\nInterviewer: And you?\nP1: At home all day.\n"
                                    "Dr Who: Thanks.\nP1: You're welcome, any time.\n")
    add_files(project, [path], interviewer=("Dr Who",))
    rows = stored(project, "a")
    assert [(r[1], r[2]) for r in rows] == [("Dr Who", 1), ("Interviewer", 1), ("P1", 0), ("Dr Who", 1), ("P1", 0)]
    default = utterances(project.conn)
    assert [u.speaker for u in default] == ["P1", "P1"]
    assert not any(u.is_interviewer for u in default)
    everyone = utterances(project.conn, participants_only=False)
    assert len(everyone) == 5 and sum(u.is_interviewer for u in everyone) == 3
    assert [u.text for u in default] == ["At home all day.", "You're welcome, any time."]


def test_interviewer_from_project_settings(tmp_path):
    p = Project.create(tmp_path / "proj", settings={"ingest": {"interviewer": ["Dr Who"]}})
    try:
        add_files(p, [write(tmp_path, "a.txt", "Dr Who: Where?\nP1: At home, all day long.\n"
                                                  "Dr Who: Ok.\nP1: That is all.\n")])
        assert [(r[1], r[2]) for r in stored(p, "a")] == [("Dr Who", 1), ("P1", 0), ("Dr Who", 1), ("P1", 0)]
    finally:
        p.close()


# -- re-adding ---------------------------------------------------------------------------------

TRANSCRIPT = ("Interviewer: Can you describe the role?\n"
              "P1: The role was never explained to us properly.\n"
              "Interviewer: And the team?\n"
              "P1: The team was welcoming from the very first day.\n")


def code(project: Project, text: str, code_id: str, coder: str = "ann") -> None:
    with project.transaction() as conn:
        uid = conn.execute("SELECT id FROM utterances WHERE text = ?", (text,)).fetchone()[0]
        conn.execute("INSERT INTO codings (utterance, code, coder, created_at) VALUES (?, ?, ?, '2024-01-01')",
                     (uid, code_id, coder))


def codings(project: Project) -> list[tuple]:
    return [tuple(r) for r in project.conn.execute(
        "SELECT d.id, u.text, c.code, c.coder FROM codings c JOIN utterances u ON u.id = c.utterance"
        " JOIN documents d ON d.id = u.document ORDER BY u.idx, c.code")]


def test_readding_same_file_changes_nothing(tmp_path, project):
    path = write(tmp_path, "a.txt", TRANSCRIPT)
    first = add_files(project, [path])
    assert first.added == ["a"] and first.utterances == 4
    code(project, "The team was welcoming from the very first day.", "credibility")
    before = snapshot(project)
    again = add_files(project, [path])
    assert again.unchanged == ["a"] and again.added == [] and again.replaced == []
    assert again.utterances == 0
    assert snapshot(project) == before  # not even a log entry: nothing was decided


def test_readding_changed_file_keeps_codings_of_unchanged_text(tmp_path, project):
    path = write(tmp_path, "a.txt", TRANSCRIPT)
    add_files(project, [path])
    code(project, "The team was welcoming from the very first day.", "credibility")
    code(project, "The role was never explained to us properly.", "hope_recovery")
    path.write_text(TRANSCRIPT.replace("The role was never explained to us properly.",
                                       "Nobody ever explained the role to us."), encoding="utf-8")
    before = snapshot(project)
    with pytest.raises(AutocodeError) as err:   # a coding would be lost: not without --replace
        add_files(project, [path])
    assert err.value.problem == ("this new version of transcript 'a' would drop 1 coding(s), on utterances whose "
                                 "text changed too much to follow: 'The role was never explained to us properly.' "
                                 "(hope_recovery, by ann)")
    assert "autocode export" in err.value.fix and "--replace" in err.value.fix and snapshot(project) == before
    report = add_files(project, [path], replace=True)
    assert report.replaced == ["a"] and report.kept_codings == 1 and report.followed_codings == 0
    assert codings(project) == [("a", "The team was welcoming from the very first day.", "credibility", "ann")]
    doc = project.conn.execute("SELECT text FROM documents WHERE id = 'a'").fetchone()[0]
    assert "Nobody ever explained" in doc and "never explained to us properly" not in doc
    assert [r[5] for r in stored(project, "a")][1] == "Nobody ever explained the role to us."
    assert_stored_offsets(project)


def test_readding_follows_codings_onto_lightly_edited_utterances(tmp_path, project):
    """A typo fixed in a coded utterance keeps its coding; the new text is what is coded."""
    path = write(tmp_path, "a.txt", TRANSCRIPT)
    add_files(project, [path])
    code(project, "The team was welcoming from the very first day.", "credibility")
    code(project, "The role was never explained to us properly.", "hope_recovery")
    path.write_text(TRANSCRIPT.replace("never explained to us properly.", "never explained to us, properly!"),
                    encoding="utf-8")
    report = add_files(project, [path])
    assert report.kept_codings == 2 and report.followed_codings == 1
    assert sorted(codings(project)) == [("a", "The role was never explained to us, properly!", "hope_recovery", "ann"),
                                        ("a", "The team was welcoming from the very first day.", "credibility", "ann")]


def test_another_files_uncoded_transcript_of_the_same_name_is_not_replaced_silently(tmp_path, project):
    """siteA/P01.txt then siteB/P01.txt: the second is another interview until the researcher says not."""
    (tmp_path / "siteA").mkdir(), (tmp_path / "siteB").mkdir()
    first = write(tmp_path / "siteA", "a.txt", TRANSCRIPT)
    add_files(project, [first])
    other = write(tmp_path / "siteB", "a.txt", "Interviewer: Tell me about your week.\nP2: Busy, as ever.\n")
    before = snapshot(project)
    with pytest.raises(AutocodeError) as err:
        add_files(project, [other])
    assert err.value.problem == f"transcript 'a' was added from another file ({first}), and this one reads differently"
    assert "a-2.txt" in err.value.fix and "--replace" in err.value.fix and snapshot(project) == before
    assert add_files(project, [other], replace=True).replaced == ["a"]


def test_readding_keeps_imported_codings(tmp_path, project):
    from autocode.codings import import_codings

    path = write(tmp_path, "a.txt", TRANSCRIPT)
    add_files(project, [path])
    start = TRANSCRIPT.index("The team was")
    end = TRANSCRIPT.index("day.") + len("day.")
    csv = write(tmp_path, "codes.csv", f"document,start,end,code,coder\na,{start},{end},credibility,bob\n")
    assert import_codings(project, csv).codings == 1
    path.write_text("Interviewer: Hello first.\n" + TRANSCRIPT, encoding="utf-8")
    report = add_files(project, [path])
    assert report.kept_codings == 1
    assert codings(project) == [("a", "The team was welcoming from the very first day.", "credibility", "bob")]
    assert len(stored(project, "a")) == 5


def test_readding_keeps_codings_on_repeated_text_where_they_were(tmp_path, project):
    text = ("Interviewer: Was it clear?\nP1: I did not know what to expect.\n"
            "Interviewer: And later?\nP1: I did not know what to expect.\n")
    path = write(tmp_path, "dup.txt", text)
    add_files(project, [path])
    ids = [r[0] for r in project.conn.execute("SELECT id FROM utterances ORDER BY idx")]
    with project.transaction() as conn:
        for uid, code_id in [(ids[1], "credibility"), (ids[3], "credibility"), (ids[3], "hope_recovery")]:
            conn.execute("INSERT INTO codings (utterance, code, coder, created_at) VALUES (?, ?, 'ann', 'x')",
                         (uid, code_id))
    path.write_text(text.replace("Was it clear?", "Was it clear to you?"), encoding="utf-8")
    report = add_files(project, [path])
    got = [tuple(r) for r in project.conn.execute(
        "SELECT u.idx, c.code FROM codings c JOIN utterances u ON u.id = c.utterance ORDER BY u.idx, c.code")]
    assert got == [(1, "credibility"), (3, "credibility"), (3, "hope_recovery")]
    assert report.kept_codings == 3


def test_same_input_gives_same_utterances(tmp_path):
    path = write(tmp_path, "a.txt", TRANSCRIPT + "P1: Yeah. Mm-hm. [laughs] It was, um, a long year, "
                                                  "and a hard one; we got there. Yes.\n")
    rows = []
    for name in ("p1", "p2"):
        p = Project.create(tmp_path / name)
        try:
            add_files(p, [path])
            rows.append(stored(p, "a"))
        finally:
            p.close()
    assert rows[0] == rows[1] and len(rows[0]) >= 5
    assert read_transcripts(path)[0].turns == read_transcripts(path)[0].turns


# -- real data (skipped where the shared folder is absent) -----------------------------------

def _files(folder: Path, pattern: str = "*") -> list[Path]:
    if not folder.is_dir():
        pytest.skip(f"{folder} is not available")
    files = sorted(p for p in folder.glob(pattern) if p.is_file())
    if not files:
        pytest.skip(f"{folder} holds no files")
    return files


@pytest.mark.parametrize("folder", ["datasets/primock57/vtt", "datasets/interviews-mlss/transcripts"])
def test_real_transcripts_read_with_exact_offsets(folder):
    files = _files(SHARED / folder)
    several_speakers = 0
    for f in files:
        [t] = read_transcripts(f)
        assert t.turns, f
        assert_turn_offsets(t)
        speakers = Counter(turn.speaker for turn in t.turns)
        several_speakers += len(speakers) >= 2
        if t.format == "vtt":  # consecutive cues of one speaker are merged
            assert all(a.speaker != b.speaker for a, b in zip(t.turns, t.turns[1:])), f
            assert "<v " not in t.text
    assert several_speakers >= 0.9 * len(files)


def test_real_psw_transcripts_flag_the_interviewer():
    files = _files(SHARED / "psw-study" / "transcripts", "*.txt")
    for f in files:
        [t] = read_transcripts(f)
        assert_turn_offsets(t)
        speakers = {turn.speaker for turn in t.turns}
        assert "Interviewer" in speakers and len(speakers) >= 2, f
        assert all(is_interviewer(turn.speaker) == (turn.speaker == "Interviewer") for turn in t.turns), f
        assert not t.warnings


def test_a_different_interview_under_a_coded_transcripts_name_is_refused(tmp_path, project):
    """Two sites' P01.txt: replacing would drop every coding of the first, so it takes --replace."""
    path = write(tmp_path, "a.txt", TRANSCRIPT)
    add_files(project, [path])
    code(project, "The team was welcoming from the very first day.", "credibility")
    other = write(tmp_path / "siteB", "a.txt", "Interviewer: Tell me about your week.\nP2: Busy, as ever on the ward.\n") \
        if (tmp_path / "siteB").mkdir() is None else None
    before = snapshot(project)
    with pytest.raises(AutocodeError) as err:
        add_files(project, [other])
    assert err.value.problem == ("this file would replace transcript 'a', already in the project, and none of its "
                                 "1 coding(s) (by ann) would survive: it looks like a different interview")
    assert "another name (such as a-2.txt)" in err.value.fix and "--replace" in err.value.fix
    assert err.value.where == str(other) and snapshot(project) == before
    report = add_files(project, [other], replace=True)
    assert report.replaced == ["a"] and report.kept_codings == 0 and codings(project) == []


def test_an_uncoded_transcript_is_replaced_without_asking(tmp_path, project):
    path = write(tmp_path, "a.txt", TRANSCRIPT)
    add_files(project, [path])
    path.write_text("Interviewer: Something else entirely?\nP9: Yes.\n", encoding="utf-8")
    assert add_files(project, [path]).replaced == ["a"]


# -- files as Windows and European Excel save them ------------------------------------------------

def test_utf16_with_a_byte_order_mark_is_read(tmp_path):
    """Notepad's "Unicode" is UTF-16 with a byte-order mark: unambiguous, so read, not refused."""
    text = "Interviewer: How was the ward?\r\nP1: Calm, for once. Café open.\r\n"
    (t,) = read_transcripts(write(tmp_path, "a.txt", b"\xff\xfe" + text.encode("utf-16-le")))
    assert t.text == text.replace("\r\n", "\n")
    assert spoken(t) == [("Interviewer", "How was the ward?"), ("P1", "Calm, for once. Café open.")]


def test_a_csv_not_in_utf8_says_how_excel_saves_utf8(tmp_path):
    bad = write(tmp_path, "t.csv", "document,text\nD1,caf\u00e9 \u2013 fine\n".encode("cp1252"))
    with pytest.raises(AutocodeError) as err:
        read_transcripts(bad)
    assert err.value.problem == "line 2 is not UTF-8 text (byte 0xE9)"
    assert "'CSV UTF-8 (Comma delimited)'" in err.value.fix and "run the command again" in err.value.fix


def test_semicolon_separated_tables_are_read(tmp_path):
    (t,) = read_transcripts(write(tmp_path, "t.csv", "document;speaker;text\nD1;P1;\"Yes, it was fine; mostly.\"\n"))
    assert t.id == "D1" and spoken(t) == [("P1", "Yes, it was fine; mostly.")]


def test_a_file_named_xlsx_that_is_not_a_workbook(tmp_path):
    with pytest.raises(AutocodeError, match="is not an Excel workbook, though its name ends in .xlsx"):
        read_transcripts(write(tmp_path, "t.xlsx", "document,text\nD1,hello\n"))


def test_files_autocode_cannot_read_in_a_folder_are_named(tmp_path):
    from autocode.ingest import unreadable_in

    (tmp_path / "in").mkdir()
    for name in ("a.txt", "notes.pdf", ".DS_Store", "~$draft.docx", "b.CSV"):
        write(tmp_path / "in", name, "x")
    assert unreadable_in([tmp_path / "in", tmp_path / "in" / "a.txt"]) == [tmp_path / "in" / "notes.pdf"]


def test_semicolon_tables_with_unquoted_commas_in_the_text_are_read(tmp_path):
    """The separator is read off the header line, so commas in the text never decide it."""
    (t,) = read_transcripts(write(tmp_path, "t.csv", "document;speaker;text\nD1;P1;Yes, fine, mostly\nD1;P1;And then, later\n"))
    assert spoken(t) == [("P1", "Yes, fine, mostly"), ("P1", "And then, later")]


def test_summary_shows_who_speaks_in_each_transcript_and_interviewer_can_be_named_later(tmp_path, project):
    """A transcript added before --interviewer was known: adding it again with the option marks
    the interviewer, without replacing the transcript; adding it once more without the option
    leaves the mark."""
    from autocode.corpus import summary

    path = write(tmp_path, "teams.vtt", "WEBVTT\n\n1\n00:00:01.000 --> 00:00:04.000\n<v Sam Jones>What do they bring?</v>\n\n"
                 "2\n00:00:05.000 --> 00:00:09.000\n<v Dr Ade>Hope.</v>\n\n3\n00:00:10.000 --> 00:00:11.000\n<v Sam Jones>Thanks.</v>\n")
    add_files(project, [path])
    assert summary(project.conn) == [{"document": "teams", "format": "vtt", "codings": 0, "utterances": 3, "speakers": [
        {"speaker": "Sam Jones", "interviewer": False, "utterances": 2}, {"speaker": "Dr Ade", "interviewer": False, "utterances": 1}]}]
    report = add_files(project, [path], interviewer=("Sam Jones",))
    assert report.reflagged == ["teams"] and report.unchanged == ["teams"]
    assert summary(project.conn)[0]["speakers"][0]["interviewer"] is True
    assert add_files(project, [path]).reflagged == []
    assert summary(project.conn)[0]["speakers"][0]["interviewer"] is True
    assert [r[1] for r in stored(project, "teams") if not r[2]] == ["Dr Ade"]


def test_table_rows_left_out_and_sheets_not_read_are_named(tmp_path):
    pd = pytest.importorskip("pandas")
    [t] = read_transcripts(write(tmp_path, "t.csv", "speaker,text\nP1,One.\nP1,\nP1,   \nP1,Two.\n"))
    assert spoken(t) == [("P1", "One."), ("P1", "Two.")]
    assert t.warnings == [f"{tmp_path / 't.csv'}: 2 row(s) with an empty 'text' were left out (rows 3, 4)."]
    path = tmp_path / "book.xlsx"
    with pd.ExcelWriter(path) as xl:
        pd.DataFrame({"speaker": ["P1"], "text": ["Hello."]}).to_excel(xl, sheet_name="P01", index=False)
        pd.DataFrame({"speaker": ["P2"], "text": ["Hi."]}).to_excel(xl, sheet_name="P02", index=False)
    [t] = read_transcripts(path)
    assert spoken(t) == [("P1", "Hello.")] and "only the first sheet, 'P01', was read" in t.warnings[0]
    with pd.ExcelWriter(path) as xl:
        pd.DataFrame({"notes": ["x"]}).to_excel(xl, sheet_name="About", index=False)
        pd.DataFrame({"text": ["Hi."]}).to_excel(xl, sheet_name="Data", index=False)
    with pytest.raises(AutocodeError, match="of the first sheet, 'About', the one autocode reads"):
        read_transcripts(path)


def test_docx_tables_that_are_not_speech(tmp_path):
    """A particulars table (| Age | 34 |) is not a speaker's, and a row whose speech cell is empty
    does not hand the speaker's name to the one before."""
    docx = pytest.importorskip("docx")
    document = docx.Document()
    about = document.add_table(0, 2)
    for row in [("Age", "34"), ("Grade", "Consultant")]:
        cells = about.add_row().cells
        cells[0].text, cells[1].text = row
    talk = document.add_table(0, 2)
    for row in [("Interviewer", "Was it clear?"), ("Maria", "Yes."), ("Interviewer", ""), ("Maria", "Mostly.")]:
        cells = talk.add_row().cells
        cells[0].text, cells[1].text = row
    path = tmp_path / "t.docx"
    document.save(path)
    said = spoken(read_one(path))
    assert said == [(NOT_SPOKEN, "Age: 34\nGrade: Consultant"), ("Interviewer", "Was it clear?"),
                    ("Maria", "Yes."), ("Maria", "Mostly.")]


def test_a_coding_never_follows_onto_another_answer_or_speaker(tmp_path, project):
    """Q1's answer is rewritten; Q3's answer reads nearly the same. The coding must not jump
    there: an edited utterance is looked for between the same unchanged neighbours only."""
    text = ("Interviewer: Did the peer worker help with the first admission?\nP1: Yes, it really helped me a lot then.\n"
            "Interviewer: And with the discharge planning afterwards?\nP1: Not much, to be honest with you.\n"
            "Interviewer: And the second admission, last winter?\nP1: Yes, it really helped me a lot there.\n")
    path = write(tmp_path, "a.txt", text)
    add_files(project, [path])
    code(project, "Yes, it really helped me a lot then.", "hope_recovery")
    path.write_text(text.replace("Yes, it really helped me a lot then.", "Honestly I could not say, it was a blur."),
                    encoding="utf-8")
    with pytest.raises(AutocodeError, match="would drop 1 coding"):
        add_files(project, [path])


def test_suggestions_alone_never_block_a_new_version(tmp_path, project):
    path = write(tmp_path, "a.txt", TRANSCRIPT)
    add_files(project, [path])
    code(project, "The team was welcoming from the very first day.", "credibility")
    code(project, "The role was never explained to us properly.", "hope_recovery", coder="machine")
    path.write_text(TRANSCRIPT.replace("The role was never explained to us properly.",
                                       "Nobody ever explained the role to us."), encoding="utf-8")
    report = add_files(project, [path])
    assert report.replaced == ["a"] and codings(project) == [
        ("a", "The team was welcoming from the very first day.", "credibility", "ann")]


def test_the_same_file_by_another_path_is_the_same_file(tmp_path, project, monkeypatch):
    (tmp_path / "in").mkdir()
    path = write(tmp_path / "in", "a.txt", TRANSCRIPT)
    monkeypatch.chdir(tmp_path)
    add_files(project, [Path("in/a.txt")])
    path.write_text(TRANSCRIPT + "P1: One more thing about the rota.\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path / "in")
    assert add_files(project, [path]).replaced == ["a"]      # absolute now, relative before: one file
    source = project.conn.execute("SELECT source FROM documents").fetchone()[0]
    assert source == str(path.resolve())


def test_marking_an_interviewer_later_counts_the_codings_it_takes_out_of_use(tmp_path, project):
    path = write(tmp_path, "a.txt", TRANSCRIPT)
    add_files(project, [path])
    code(project, "The team was welcoming from the very first day.", "credibility")
    speaker = project.conn.execute("SELECT speaker FROM utterances WHERE text LIKE 'The team was%'").fetchone()[0]
    code(project, "The team was welcoming from the very first day.", "credibility", coder="machine")
    report = add_files(project, [path], interviewer=(speaker,))
    assert report.reflagged == ["a"] and report.reflagged_codings == 1
    assert report.withdrawn == 1   # the machine's suggestion on the interviewer's words goes; ann's stays
    assert [r[0] for r in project.conn.execute("SELECT coder FROM codings")] == ["ann"]


def test_a_conversation_with_no_interviewer_is_pointed_out_with_the_likely_one(tmp_path, project):
    path = write(tmp_path, "n8.txt", "Sam: How long have you worked nights?\nMark: About six years now.\n"
                                     "Sam: What is hardest?\nMark: The third night.\n")
    warnings = add_files(project, [path]).warnings
    assert len(warnings) == 1 and "n8: no speaker was read as the interviewer" in warnings[0]
    assert "Sam asks most of the questions (100%" in warnings[0] and '--interviewer "NAME"' in warnings[0]
    iv = write(tmp_path, "n7.txt", "IV: How long have you worked nights?\nMark: Six years.\n")
    assert add_files(project, [iv]).warnings == []   # IV is an interviewer's label


def test_replace_takes_back_an_interviewer_mark_given_by_mistake(tmp_path, project):
    path = write(tmp_path, "a.txt", TRANSCRIPT)
    add_files(project, [path])
    speaker = project.conn.execute("SELECT speaker FROM utterances WHERE text LIKE 'The team was%'").fetchone()[0]
    add_files(project, [path], interviewer=(speaker,))
    assert add_files(project, [path]).reflagged == []                     # a plain add leaves the mark
    assert add_files(project, [path], replace=True).reflagged == ["a"]    # --replace reads the marks afresh
    assert [r[1] for r in stored(project, "a") if r[1] == speaker and r[2]] == []


@pytest.mark.parametrize("name, content, said", [
    ("bad.vtt", "WEBVTT\n\n00:00:01.000 --> garbage\n<v Ann>hello\n\n00:00:05.000 --> 00:00:06.000\n<v Ben>hi\n",
     "line 3 should be a cue's timing"),
    ("bad.srt", "1\nbanana\nhello\n\n2\n00:00:05,000 --> 00:00:06,000\nmore\n", "line 2 should be a cue's timing"),
    ("bad2.srt", "1\n00:00:01,000 --> 00:00:02,000\nhello\n\n2\n00:00:03,000 -> 00:00:04,000\nmore\n",
     "line 6 should be a cue's timing"),
    ("comma.vtt", "WEBVTT\n\n00:00:01.000 --> 00:00:04.000\nhi\n\n00:00:05,000 --> 00:00:08,000\nbye\n",
     "line 6(.|\n)*change them to 00:00:05.000"),
    ("arrow.vtt", "WEBVTT\n\n00:00:01.000 --> 00:00:04.000\n<v Ann>Open Settings --> Privacy\n",
     "an arrow \\(-->\\) in a caption's words"),
    ("garbage.vtt", "WEBVTT\n\n00:00:01.000 --> 00:00:0x\nhi\n", "correct the times on that line"),
    ("bare.vtt", "00:00:01.000 --> 00:00:04.000\n<v Ann>hi\n", "its first line must be WEBVTT"),
])
def test_a_caption_file_with_an_unreadable_timing_names_its_line(tmp_path, name, content, said):
    from autocode.ingest import read_transcripts

    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(AutocodeError, match=said):
        read_transcripts(path)


@pytest.mark.parametrize("content, said", [
    ("document,text,text\nD1,a,b\n", "names column 'text' twice"),
    ("document,speaker,text\nD1,Ann,hello, there, friend\n", "line 2 has 5 columns but the header has 3"),
])
def test_a_table_read_wrong_is_named_in_plain_words(tmp_path, content, said):
    from autocode.ingest import read_transcripts

    path = tmp_path / "t.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(AutocodeError, match=said):
        read_transcripts(path)


@pytest.mark.parametrize("name, content", [
    ("a.srt", "1\n00:00:01 --> 00:00:04\nhello\n"),
    ("b.srt", "1\n00:00:01:000 --> 00:00:04,0000\nhello\n"),
    ("c.srt", "1\n00:00:01,000 --> 00:00:02,000\nP1: Settings --> Privacy\n"),
    ("d.srt", "1\n00:00:01,000 --> 00:00:02,000\nWhat year?\n\n2000\n\n2\n00:00:03,000 --> 00:00:04,000\nthat one\n"),
    ("e.vtt", "WEBVTT\n\n00:00:01.000-->00:00:04.000\nhello\n"),
    ("f.vtt", "WEBVTT\n\n00:01.5 --> 00:04.25\nhello\n"),
    ("g.vtt", "WEBVTT\n\n1:00:01.000 --> 1:00:04.000 align:start position:10%\nhello\n"),
])
def test_caption_timings_the_libraries_read_are_not_refused(tmp_path, name, content):
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    assert read_transcripts(path)


def test_a_whole_interview_in_one_table_cell_is_read(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("document,speaker,text\nD1,Ann," + "word " * 30000 + "\n", encoding="utf-8")
    assert read_transcripts(path)
