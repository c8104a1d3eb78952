"""Shell completion of kvctl, etcdd, kvbackup and kvdefrag, through the real
binaries and real shells.

The binaries answer `__complete` from the command tree they parse with; the
scripts that `<bin> completion bash|zsh|fish` prints (and that completions/
holds, installed by `cmake --install`) only relay the words typed so far.
These tests run each script in its shell with the binaries on PATH under
their installed names, as a user's <TAB> would.
"""
import json
import os
import pathlib
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
BINARIES = {"kvctl": os.environ["KVCTL_BIN"], "etcdd": os.environ["ETCDD_BIN"],
            "kvbackup": os.environ["KVBACKUP_BIN"], "kvdefrag": os.environ["KVDEFRAG_BIN"]}
SHELLS = ("bash", "zsh", "fish")
SCRIPT_PATHS = {
    "bash": "completions/bash/{}",
    "zsh": "completions/zsh/_{}",
    "fish": "completions/fish/{}.fish",
}


@pytest.fixture(scope="module")
def path_dir(tmp_path_factory):
    """A directory with the binaries linked under their names."""
    d = tmp_path_factory.mktemp("bin")
    for name, binary in BINARIES.items():
        (d / name).symlink_to(binary)
    return d


def shell_env(path_dir):
    env = dict(os.environ)
    env["PATH"] = f"{path_dir}:{env['PATH']}"
    env["HOME"] = str(path_dir)  # no user rc files, no fish history
    return env


def complete(binary, *words):
    out = subprocess.run([BINARIES[binary], "__complete", *words], check=True,
                         capture_output=True, text=True).stdout
    lines = out.splitlines()
    assert lines[-1].startswith(":"), out
    return [line.split("\t")[0] for line in lines[:-1]], int(lines[-1][1:])


def test_complete_entry_point_answers_from_the_command_tree():
    assert complete("kvctl", "mem") == (["member"], 4)
    assert complete("kvctl", "get", "-w", "")[0] == ["fields", "json", "protobuf", "simple",
                                                      "table"]
    assert complete("kvctl", "get", "--w")[0] == ["--write-out"]
    assert complete("kvctl", "get", "--write-out=j")[0] == ["--write-out=json"]
    assert complete("kvctl", "mem", "li")[0] == ["list"]
    assert complete("kvctl", "get", "--sort-by", "")[0] == ["CREATE", "KEY", "MODIFY", "VALUE",
                                                            "VERSION"]
    assert "--prefix" in complete("kvctl", "get", "--")[0]
    assert complete("kvctl", "completion", "")[0] == ["bash", "fish", "zsh"]
    assert complete("kvctl", "--cacert", "") == ([], 0)  # file names
    assert complete("etcdd", "--initial-cluster-state", "")[0] == ["new", "existing"]
    assert complete("etcdd", "-initial-cluster-state", "ex")[0] == ["existing"]
    assert complete("etcdd", "--data-dir", "") == ([], 16)  # directories
    assert "--listen-client-urls" in complete("etcdd", "--li")[0]
    # Flags accepted only for compatibility are not offered.
    assert complete("etcdd", "--enable-v")[0] == []


def test_hidden_entry_points_stay_out_of_help():
    help_text = subprocess.run([BINARIES["kvctl"], "--help"], capture_output=True,
                               text=True).stdout
    assert "__complete" not in help_text and "__describe" not in help_text
    assert "completion" in help_text
    help_text = subprocess.run([BINARIES["etcdd"], "--help"], capture_output=True,
                               text=True).stdout
    assert "__complete" not in help_text


def test_command_prefix_comp_still_means_compaction():
    # etcdctl 3.4 has no "completion"; its unique prefix "comp" is compaction.
    r = subprocess.run([BINARIES["kvctl"], "comp"], capture_output=True, text=True)
    assert "compaction" in r.stdout + r.stderr, r


def test_describe_is_json_with_every_command():
    spec = json.loads(subprocess.run([BINARIES["kvctl"], "__describe"], check=True,
                                     capture_output=True, text=True).stdout)
    names = [c["name"] for c in spec["subcommands"]]
    assert {"get", "put", "del", "member", "endpoint", "completion"} <= set(names)


@pytest.mark.parametrize("binary", sorted(BINARIES))
@pytest.mark.parametrize("shell", SHELLS)
def test_committed_scripts_equal_generated(binary, shell):
    generated = subprocess.run([BINARIES[binary], "completion", shell], check=True,
                               capture_output=True, text=True).stdout
    committed = (ROOT / SCRIPT_PATHS[shell].format(binary)).read_text()
    assert committed == generated, (
        f"{SCRIPT_PATHS[shell].format(binary)} is stale: regenerate with "
        f"`{binary} completion {shell} > {SCRIPT_PATHS[shell].format(binary)}`")


def test_unsupported_shell_is_an_error():
    r = subprocess.run([BINARIES["kvctl"], "completion", "tcsh"], capture_output=True, text=True)
    assert r.returncode == 1 and 'unsupported shell type "tcsh"' in r.stderr
    r = subprocess.run([BINARIES["etcdd"], "completion", "tcsh"], capture_output=True, text=True)
    assert r.returncode == 2 and 'unsupported shell type "tcsh"' in r.stderr


def bash_complete(path_dir, binary, comp_words, extra=""):
    """COMPREPLY for COMP_WORDS (the last one under the cursor), as bash's
    programmable completion sets the variables."""
    script = ROOT / SCRIPT_PATHS["bash"].format(binary)
    words = " ".join("'" + w + "'" for w in comp_words)
    line = "".join(comp_words)  # only used for COMP_POINT's sake
    program = f"""
source '{script}' || exit 3
{extra}
fn=$(complete -p {binary} | sed -E 's/.* -F ([^ ]+) .*/\\1/')
COMP_WORDS=({words})
COMP_CWORD=$(( ${{#COMP_WORDS[@]}} - 1 ))
COMP_LINE='{line}'
COMP_POINT=${{#COMP_LINE}}
$fn {binary} "${{COMP_WORDS[-1]}}" "${{COMP_WORDS[-2]}}"
printf '%s\\n' "${{COMPREPLY[@]}}"
"""
    r = subprocess.run(["bash", "--norc", "--noprofile", "-c", program],
                       env=shell_env(path_dir), capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return [w for w in r.stdout.splitlines() if w]


@pytest.mark.parametrize("extra", ["", "source /usr/share/bash-completion/bash_completion"],
                         ids=["plain", "with-bash-completion"])
def test_bash_completion(path_dir, extra):
    def bc(binary, *words):
        return bash_complete(path_dir, binary, list(words), extra)
    assert bc("kvbackup", "kvbackup", "sa") == ["save"]
    assert bc("kvbackup", "kvbackup", "save", "--from", "") == ["follower", "leader"]
    assert bc("kvctl", "kvctl", "mem") == ["member"]
    assert bc("kvctl", "kvctl", "mem", "li") == ["list"]
    assert bc("kvctl", "kvctl", "get", "-w", "") == ["fields", "json", "protobuf", "simple",
                                                     "table"]
    # bash splits "--write-out=j" at "=" and replaces only the part after it.
    assert bc("kvctl", "kvctl", "get", "--write-out", "=", "j") == ["json"]
    assert bc("kvctl", "kvctl", "get", "--write-out", "=") == ["fields", "json", "protobuf",
                                                               "simple", "table"]
    assert bc("kvctl", "kvctl", "endpoint", "") == ["health", "status", "hashkv"]
    assert bc("kvctl", "kvctl", "--endpoints", "x:2379", "lease", "gr") == ["grant"]
    assert bc("etcdd", "etcdd", "--initial-cluster-state", "") == ["new", "existing"]
    assert bc("etcdd", "etcdd", "--initial-cluster-s") == ["--initial-cluster-state"]


def test_kvctl_completes_the_auth_commands():
    assert complete("kvctl", "us")[0] == ["user"]
    assert complete("kvctl", "user", "")[0] == ["add", "delete", "get", "list", "passwd",
                                                 "grant-role", "revoke-role"]
    assert complete("kvctl", "role", "g")[0] == ["get", "grant-permission"]
    assert {"--prefix", "--from-key"} <= set(
        complete("kvctl", "role", "grant-permission", "--")[0])
    assert {"--interactive", "--new-user-password", "--no-password"} <= set(
        complete("kvctl", "user", "add", "--")[0])
    assert complete("kvctl", "auth", "")[0] == ["enable", "disable", "status"]


def test_kvbackup_completes_its_commands_and_values():
    assert complete("kvbackup", "l") == (["list"], 4)
    assert complete("kvbackup", "save", "--from", "")[0] == ["follower", "leader"]
    assert complete("kvbackup", "-w", "")[0] == ["json", "simple", "table"]
    assert "--keep-daily" in complete("kvbackup", "prune", "--keep")[0]
    assert complete("kvbackup", "prune", "")[1] & 16  # directories


def test_kvdefrag_completes_its_flags_and_values():
    assert complete("kvdefrag", "-w", "")[0] == ["json", "simple", "table"]
    assert {"--min-free-ratio", "--min-quota-usage"} <= set(complete("kvdefrag", "--min")[0])
    assert complete("kvdefrag", "--data-dir", "")[1] & 16  # directories
    assert complete("kvdefrag", "comp")[0] == ["completion"]


def test_bash_script_registers_for_the_binary(path_dir):
    for binary in BINARIES:
        script = ROOT / SCRIPT_PATHS["bash"].format(binary)
        r = subprocess.run(["bash", "--norc", "-c", f"source '{script}' && complete -p {binary}"],
                           capture_output=True, text=True, check=True)
        assert f"__{binary}_complete {binary}" in r.stdout


@pytest.mark.parametrize("binary", sorted(BINARIES))
def test_zsh_script_parses_and_loads(path_dir, binary):
    script = ROOT / SCRIPT_PATHS["zsh"].format(binary)
    subprocess.run(["zsh", "-n", str(script)], check=True)
    r = subprocess.run(["zsh", "-f", "-c",
                        f"autoload -U compinit && compinit -u -D && source '{script}' "
                        f"&& print -r -- $_comps[{binary}]"],
                       env=shell_env(path_dir), capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.strip() == f"_{binary}", r


def zsh_complete(path_dir, binary, words):
    """The candidates the zsh function hands to _describe, with _describe
    replaced by a stub that prints them (a completion widget needs a
    terminal)."""
    script = ROOT / SCRIPT_PATHS["zsh"].format(binary)
    quoted = " ".join("'" + w + "'" for w in words)
    program = f"""
compdef() {{ : }}
_describe() {{ print -rl -- "${{(@P)${{@[-1]}}}}" }}
_files() {{ print -r -- FILES }}
_path_files() {{ print -r -- DIRS }}
source '{script}'
words=({quoted})
CURRENT=${{#words}}
_{binary}
"""
    r = subprocess.run(["zsh", "-f", "-c", program], env=shell_env(path_dir),
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return [line.split(":")[0] for line in r.stdout.splitlines()]


def test_zsh_completion(path_dir):
    assert zsh_complete(path_dir, "kvctl", ["kvctl", "mem"]) == ["member"]
    assert zsh_complete(path_dir, "kvctl", ["kvctl", "get", "-w", ""]) == [
        "fields", "json", "protobuf", "simple", "table"]
    assert zsh_complete(path_dir, "etcdd", ["etcdd", "--initial-cluster-state", ""]) == [
        "new", "existing"]
    assert zsh_complete(path_dir, "etcdd", ["etcdd", "--wal-dir", ""]) == ["DIRS"]


@pytest.mark.parametrize("binary", sorted(BINARIES))
def test_fish_script_parses(binary):
    subprocess.run(["fish", "--no-execute", str(ROOT / SCRIPT_PATHS["fish"].format(binary))],
                   check=True)


def fish_complete(path_dir, binary, line):
    script = ROOT / SCRIPT_PATHS["fish"].format(binary)
    r = subprocess.run(["fish", "--no-config", "-c", f"source '{script}'; complete -C '{line}'"],
                       env=shell_env(path_dir), capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return [w.split("\t")[0] for w in r.stdout.splitlines()]


def test_fish_completion(path_dir):
    assert fish_complete(path_dir, "kvctl", "kvctl mem") == ["member"]
    assert fish_complete(path_dir, "kvctl", "kvctl get -w ") == [
        "fields", "json", "protobuf", "simple", "table"]
    assert fish_complete(path_dir, "kvctl", "kvctl get --write-out=t") == ["--write-out=table"]
    assert fish_complete(path_dir, "etcdd", "etcdd --initial-cluster-state ") == [
        "existing", "new"]
