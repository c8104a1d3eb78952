"""The man pages in man/: they render without a warning, and they document
exactly the command line each binary has.

What the binaries have comes from `<bin> __describe`, the description of the
CLI11 app they parse with (lib/cli/command_spec.h), so a flag, command or
environment variable added to a binary fails this test until its page
describes it, and a page cannot describe a flag the binary does not have.
"""
import json
import os
import pathlib
import re
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
BINARIES = {"kvctl": os.environ["KVCTL_BIN"], "etcdd": os.environ["ETCDD_BIN"],
            "kvbackup": os.environ["KVBACKUP_BIN"], "kvdefrag": os.environ["KVDEFRAG_BIN"]}
BUILD_DIR = os.environ.get("ETCDD_BUILD_DIR")


def page(binary):
    return ROOT / "man" / f"{binary}.1"


def page_text(binary):
    """The page source with dashes and font escapes made plain."""
    text = page(binary).read_text()
    text = re.sub(r"\\f[BIRP]", "", text)
    return text.replace("\\-", "-").replace("\\e", "\\")


def describe(binary):
    out = subprocess.run([BINARIES[binary], "__describe"], check=True, capture_output=True,
                         text=True).stdout
    return json.loads(out)


def walk(command, path=()):
    """(command path, command) for every command below `command`."""
    yield path, command
    for sub in command["subcommands"]:
        yield from walk(sub, path + (sub["name"],))


@pytest.mark.parametrize("binary", sorted(BINARIES))
def test_groff_renders_without_warnings(binary):
    r = subprocess.run(["groff", "-ww", "-man", "-z", str(page(binary))], capture_output=True,
                       text=True)
    assert r.returncode == 0 and r.stderr == "", r.stderr


@pytest.mark.parametrize("binary", sorted(BINARIES))
def test_mandoc_lint_is_clean(binary):
    r = subprocess.run(["mandoc", "-T", "lint", "-W", "all", str(page(binary))],
                       capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout + r.stderr == "", r.stdout + r.stderr


@pytest.mark.parametrize("binary", sorted(BINARIES))
def test_man_renders_the_page(binary):
    env = dict(os.environ, MANWIDTH="80")
    r = subprocess.run(["man", "--warnings", str(page(binary))], capture_output=True, text=True,
                       env=env)
    assert r.returncode == 0 and r.stderr == "", r.stderr
    shown = re.sub(".\b", "", r.stdout)  # overstrike bold and underline
    assert "EXIT STATUS" in shown and "EXAMPLES" in shown


def flag_present(text, name):
    return re.search(r"(?<![\w-])" + re.escape(name) + r"(?![\w-])", text) is not None


def tag_lines(text):
    """The tags of the page's definition lists (the line after each .TP or
    .TQ): where a flag, command or variable is defined rather than used in
    an example."""
    lines = text.splitlines()
    return "\n".join(lines[i + 1] for i in range(len(lines) - 1)
                     if lines[i] in (".TP", ".TQ"))


@pytest.mark.parametrize("binary", sorted(BINARIES))
def test_every_flag_command_and_variable_is_documented(binary):
    text = page_text(binary)
    tags = tag_lines(text)
    missing = []
    for path, command in walk(describe(binary)):
        if command["hidden"]:
            continue
        if path and not re.search(r"^\.B.*\b" + re.escape(" ".join(path)) + r"\b", tags, re.M):
            missing.append("command " + " ".join(path))
        for flag in command["flags"]:
            # Flags accepted only for compatibility are listed in a paragraph.
            where = text if flag["hidden"] else tags
            for name in filter(None, ["--" + flag["long"] if flag["long"] else "",
                                      "-" + flag["short"] if flag["short"] else ""]):
                if not flag_present(where, name):
                    missing.append(f"flag {name} of {' '.join(path) or binary}")
            for env in flag["env"]:
                if not flag_present(tags, env):
                    missing.append(f"environment variable {env}")
    assert not missing, f"man/{binary}.1 lacks: " + ", ".join(missing)


@pytest.mark.parametrize("binary", sorted(BINARIES))
def test_no_flag_is_documented_that_the_binary_lacks(binary):
    known = set()
    for _, command in walk(describe(binary)):
        for flag in command["flags"]:
            known.update(["--" + flag["long"], "-" + flag["short"]])
    text = page_text(binary)
    # Options on the page's option lines (.TP tags and .B/.BI/.BR lines).
    documented = set()
    for line in text.splitlines():
        if line.startswith((".B", ".TP", ".IP")):
            documented.update(re.findall(r"(?<![\w-])(--?[a-z][a-z0-9-]*)", line))
    unknown = sorted(documented - known)
    assert not unknown, f"man/{binary}.1 documents flags {binary} does not have: {unknown}"


@pytest.mark.skipif(not BUILD_DIR, reason="ETCDD_BUILD_DIR not set")
def test_install_puts_files_where_debian_expects_them(tmp_path):
    env = dict(os.environ, DESTDIR=str(tmp_path))
    subprocess.run(["cmake", "--install", BUILD_DIR, "--prefix", "/usr"], check=True, env=env,
                   capture_output=True)
    for binary in BINARIES:
        for rel in [f"usr/bin/{binary}", f"usr/share/man/man1/{binary}.1",
                    f"usr/share/bash-completion/completions/{binary}",
                    f"usr/share/zsh/vendor-completions/_{binary}",
                    f"usr/share/fish/vendor_completions.d/{binary}.fish"]:
            assert (tmp_path / rel).is_file(), rel
        assert os.access(tmp_path / f"usr/bin/{binary}", os.X_OK)
        assert (tmp_path / f"usr/share/man/man1/{binary}.1").read_text() == page(binary).read_text()
