"""docs/assignment.md and its Bahasa Indonesia twin docs/assignment.id.md: the same steps under the
same headings' numbers and code, the same commands, the same inline code; each of the assignment's
four questions and each of its steps has its section, in the assignment's order, saying what to do by
hand, what the collection does, the lab commands that show it and the screenshots to take; the make
targets they name exist; the pictures they show are there.

The commands themselves are run on a lab with scripts/doc-commands.py (it needs a lab: not here)."""

import re
from collections import Counter

import pytest

from helpers import REPO_ROOT

DOCS = {"en": REPO_ROOT / "docs" / "assignment.md", "id": REPO_ROOT / "docs" / "assignment.id.md"}
FENCE = re.compile(r"^```(\w*)\n(.*?)^```$", re.M | re.S)
INLINE = re.compile(r"`([^`\n]+)`")
HEADING = re.compile(r"^(#+) (?:(\d+(?:\.\d+)*)\.? )?(.*)$", re.M)
# The assignment's questions and steps, in its order: (number, what its section must show, as text of
# the section: prose, inline code or commands).
ASSIGNMENT = [
    ("1", ["request", "response", "listen", "curl -v"]),
    ("2", []),
    ("2.1", ["git clone", "npm install", "pm2 start", "sudo -u nodeapp pm2 ls"]),
    ("2.2", ["include", "sites-enabled", "nginx.conf"]),
    ("2.3", [".conf", "server_name", "proxy_pass http://10.0.0.21:3000;"]),
    ("2.4", ["nginx -t"]),
    ("2.5", ["systemctl reload nginx"]),
    ("2.6", ["/etc/hosts", "make hosts", r"C:\Windows\System32\drivers\etc\hosts", "BECOME password:"]),
    ("2.7", ["http://budi.lab:8080/", "curl -s http://budi.lab:8080/"]),
    ("3", ["X-Upstream", "round robin", "upstream"]),
    ("4", []),
    ("4.1", ["upstream budi_app {", "server 10.0.0.22:3000;"]),
    ("4.2", ["nginx -t"]),
    ("4.3", ["systemctl reload nginx"]),
    ("4.4", ["systemctl stop pm2-nodeapp", "make vm-off VM=app1", "Connection refused", "Connection timed out"]),
    ("4.5", ["docker exec webstack-lab-app1 systemctl stop pm2-nodeapp", "docker exec webstack-lab-app2 systemctl stop pm2-nodeapp",
             "502"]),
    ("4.6", ["make failover", "](images/failover-report.png)"]),
    ("5", ["make deploy-demo", "](images/deploy-report.png)"]),
]
LABELS = {
    "en": ["**By hand.**", "**What the collection does.**", "**See it in the lab.**", "**For your report.**"],
    "id": ["**Secara manual.**", "**Yang dikerjakan collection.**", "**Lihat di lab.**", "**Untuk laporanmu.**"],
}


def parts(lang):
    text = DOCS[lang].read_text()
    prose = FENCE.sub("", text)
    return {
        # Level, number and inline code of each heading.
        "headings": [(len(m.group(1)), m.group(2), INLINE.findall(m.group(3))) for m in HEADING.finditer(prose)],
        "commands": [body for _kind, body in FENCE.findall(text)],
        "inline": Counter(INLINE.findall(prose)),
    }


def sections(lang):
    """{number: text} of each numbered section, up to the next heading."""
    text = DOCS[lang].read_text()
    # Headings inside code blocks are none of ours: take them from the text with the code blanked out.
    blanked = FENCE.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), text)
    found = list(HEADING.finditer(blanked))
    return {m.group(2): text[m.start():(found[i + 1].start() if i + 1 < len(found) else len(text))]
            for i, m in enumerate(found) if m.group(2)}


@pytest.mark.parametrize("part", ["headings", "commands", "inline"])
def test_the_english_and_indonesian_pages_agree(part):
    assert parts("en")[part] == parts("id")[part]


@pytest.mark.parametrize("lang", ["en", "id"])
def test_each_question_and_step_of_the_assignment_has_its_section_in_its_order(lang):
    assert list(sections(lang)) == [number for number, _ in ASSIGNMENT]
    found = sections(lang)
    for number, shows in ASSIGNMENT:
        missing = [text for text in shows if text not in found[number]]
        assert not missing, (lang, number, missing)


@pytest.mark.parametrize("lang", ["en", "id"])
def test_each_step_says_what_to_do_by_hand_what_the_collection_does_the_lab_commands_and_the_screenshots(lang):
    for number, text in sections(lang).items():
        if number in ("2", "4"):  # a question whose steps follow
            continue
        at = [text.find(label) for label in LABELS[lang]]
        assert -1 not in at and at == sorted(at), (lang, number, at)
        lab, report = text[at[2]:at[3]], text[at[3]:]
        assert "```sh\n" in lab, (lang, number, "no lab command")
        assert re.search(r"^- \[ \] ", report, re.M), (lang, number, "no screenshot to take")


def test_the_first_nginx_test_comes_before_the_upstream_and_the_browser_before_load_balancing():
    text = DOCS["en"].read_text()
    assert text.index("docker exec webstack-lab-proxy nginx -t") < text.index("upstream budi_app {")
    assert text.index("curl -s http://budi.lab:8080/") < text.index("## 3. ")


def test_the_lab_is_made_with_a_domain_in_the_students_own_name():
    first = FENCE.findall(DOCS["en"].read_text())[0][1]
    assert first.strip() == "make lab LAB_DOMAIN=budi.lab"
    assert "webstack-lab" not in " ".join(re.findall(r"https?://\S+", DOCS["en"].read_text()))


def test_one_time_to_take_a_failed_server_out_of_rotation():
    for lang, pattern in (("en", r"within about ([\d.,]+) s"), ("id", r"dalam sekitar ([\d.,]+) detik")):
        assert set(re.findall(pattern, DOCS[lang].read_text())) == {"2.5" if lang == "en" else "2,5"}, lang


def test_the_indonesian_page_speaks_to_the_student_as_kamu_with_the_words_they_use():
    text = DOCS["id"].read_text()
    prose = FENCE.sub("", text)
    assert not re.search(r"\bAnda\b", prose)
    assert len(re.findall(r"\bkamu\b", prose, re.I)) >= 4
    assert len(re.findall(r"\w(?:-mu|mu)\b", prose)) >= 15  # laporanmu, VM-mu: yours
    for word in ("request", "response", "collection", "listen", "deploy", "rollback", "reload", "load balancer"):
        assert word in prose, word


def test_the_pictures_they_show_are_there_and_small():
    for lang in DOCS:
        images = re.findall(r"!\[[^\]]+\]\(([^)]+)\)", DOCS[lang].read_text())
        assert images, lang
        for image in images:
            path = DOCS[lang].parent / image
            assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", image
            assert path.stat().st_size < 250_000, (image, path.stat().st_size)


def test_every_make_target_named_exists():
    makefile = (REPO_ROOT / "Makefile").read_text()
    targets = {m.group(1) for m in re.finditer(r"^([a-z][a-z-]*):", makefile, re.M)}
    named = {m.group(1) for block in parts("en")["commands"] for m in re.finditer(r"^make ([a-z-]+)", block, re.M)}
    named |= {m.group(1) for code in parts("en")["inline"] for m in re.finditer(r"^make ([a-z-]+)", code)}
    assert named and named <= targets, named - targets
