# SPDX-License-Identifier: Apache-2.0
"""`chatbot --kb-dir DIR`: the knowledge base read from DIR's *.md files at start, in place of the
bundled one; a directory that cannot serve stops the start with a reason."""

import subprocess

from test_chatbot import TIME_SCALE, chatbot_binary, chatbot_factory  # noqa: F401 (fixture)


def test_answers_come_from_the_directory(chatbot_factory, tmp_path):
    (tmp_path / "b-otters.md").write_text("# Sea otters\n\nSea otters hold hands while sleeping.\n")
    (tmp_path / "a-rivers.md").write_text("# River otters\n\nRiver otters den in banks.\n\n"
                                          "# Diet\n\nFish, crayfish and frogs.\n")
    (tmp_path / "ignored.txt").write_text("# Sleeping\n\nsleeping sleeping sleeping\n")
    bot = chatbot_factory("--kb-dir", str(tmp_path))
    log = "".join(bot.lines)
    assert "knowledge base: 2 documents from %s" % tmp_path in log
    resp, body = bot.chat("which otters hold hands while sleeping?")
    assert resp.status == 200, body
    assert body["answer"].startswith("## Sea otters\n")
    assert "hold hands" in body["answer"]
    assert [(s["document"], s["section"]) for s in body["sources"]][0] == \
        ("b-otters.md", "Sea otters")
    assert all(s["document"] != "ignored.txt" for s in body["sources"])
    # The bundled knowledge base is not loaded: its topics find nothing here.
    resp, body = bot.chat("memory_limiter spike")
    assert resp.status == 200 and body["sources"] == []


def run_failing(*args):
    p = subprocess.run([str(chatbot_binary()), "--listen", "127.0.0.1:0", *args],
                       capture_output=True, text=True, timeout=20 * TIME_SCALE)
    return p.returncode, p.stderr


def test_a_directory_that_cannot_serve_stops_the_start(tmp_path):
    rc, err = run_failing("--kb-dir", str(tmp_path / "nope"))
    assert rc == 1
    assert "knowledge base: cannot open the directory %s" % (tmp_path / "nope") in err
    (tmp_path / "notes.txt").write_text("x")
    rc, err = run_failing("--kb-dir", str(tmp_path))
    assert rc == 1
    assert "knowledge base: %s holds no .md file" % tmp_path in err
    (tmp_path / "bad.md").write_bytes(b"# A\n\0\n")
    rc, err = run_failing("--kb-dir", str(tmp_path))
    assert rc == 1 and "bad.md contains a NUL byte" in err
    rc, err = run_failing("--kb-dir", "")
    assert rc == 2 and "bad or missing value for --kb-dir" in err
