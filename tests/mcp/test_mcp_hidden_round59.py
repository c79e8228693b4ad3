"""A hidden file or folder inside a granted folder is refused when a call names it directly: through `rlmx mcp`
the client or its model picks the path, so `.env` named by a prompt-injected model is no "the user asked for it"."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.mcp.mcp_harness import connect, payload, repl, script, text_of

from rlmx.mcp.roots import PathRefused, Roots


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    (root / "src").mkdir(parents=True)
    (root / "src" / "app.py").write_text("print('hi')\n", encoding="utf-8")
    (root / ".env").write_text("OPENAI_API_KEY=sk-secret\n", encoding="utf-8")
    (root / ".git").mkdir()
    (root / ".git" / "config").write_text("[remote]\n", encoding="utf-8")
    (root / "src" / ".secrets.json").write_text('{"token": "t"}', encoding="utf-8")
    return root


def test_hidden_paths_named_directly_are_refused_and_nothing_is_read(project: Path) -> None:
    roots = Roots.grant([project], "--allow")
    for raw in (".env", str(project / ".env"), ".git/config", ".git", "src/.secrets.json", (project / ".env").as_uri()):
        with pytest.raises(PathRefused, match=r"is hidden .* --allow PATH"):
            roots.read([raw])
    with pytest.raises(PathRefused, match="hidden"):  # one hidden path refuses the whole call
        roots.read(["src/app.py", ".env"])


def test_a_visible_name_that_resolves_to_a_hidden_file_is_refused(project: Path) -> None:
    (project / "notes.txt").symlink_to(project / ".env")
    (project / ".link.txt").symlink_to(project / "src" / "app.py")
    roots = Roots.grant([project], "--allow")
    for raw in ("notes.txt", ".link.txt"):
        with pytest.raises(PathRefused, match="hidden"):
            roots.read([raw])


def test_visible_paths_dot_segments_and_a_granted_hidden_folder_still_read(project: Path) -> None:
    roots = Roots.grant([project], "--allow")
    assert roots.read(["./src/app.py"]).value == "print('hi')\n"
    assert roots.read(["src/../src/app.py"]).value == "print('hi')\n"
    assert roots.read([str(project / "src" / "." / "app.py")]).value == "print('hi')\n"
    assert roots.read([str(project)]).value == {"src/app.py": "print('hi')\n"}  # hidden ones skipped in the listing
    granted = Roots.grant([project / ".git"], "--allow")  # the user granted the hidden folder itself
    assert granted.read(["config"]).value == "[remote]\n"


def test_a_folder_read_skips_visible_links_to_hidden_files(project: Path) -> None:
    # `settings.txt -> .env` in a granted folder: naming the link was refused, reading the folder sent the secret
    (project / "settings.txt").symlink_to(project / ".env")
    (project / "src" / "gitcfg").symlink_to(project / ".git" / "config")
    (project / "src" / "again.py").symlink_to(project / "src" / "app.py")  # a visible target still reads
    loaded = Roots.grant([project], "--allow").read([str(project)])
    assert loaded.value == {"src/again.py": "print('hi')\n", "src/app.py": "print('hi')\n"}
    assert "settings.txt (links to a hidden file)" in loaded.skipped and "src/gitcfg (links to a hidden file)" in (
        loaded.skipped
    )


@pytest.mark.parametrize("order", [1, -1])
def test_a_hidden_folder_granted_beside_its_parent_is_read_in_either_order(project: Path, order: int) -> None:
    (project / ".config").mkdir()
    (project / ".config" / "app.toml").write_text("debug = true\n", encoding="utf-8")
    (project / "cfg.toml").symlink_to(project / ".config" / "app.toml")
    roots = Roots([project, project / ".config"][::order], "the client's MCP roots")
    assert roots.read([str(project / ".config" / "app.toml")]).value == "debug = true\n"
    assert roots.read([str(project)]).value["cfg.toml"] == "debug = true\n"  # the link's target is granted
    with pytest.raises(PathRefused, match="hidden"):  # the other hidden files stay refused
        roots.read([str(project / ".env")])


def test_a_refusal_says_nothing_of_whether_a_hidden_file_exists(project: Path) -> None:
    roots = Roots.grant([project], "--allow")
    messages = []
    for name in (".env", ".nope"):
        with pytest.raises(PathRefused) as refused:
            roots.read([name])
        messages.append(str(refused.value).replace(f"path {name} ", "path NAME ").replace(f"{name!r}", "NAME"))
    assert messages[0] == messages[1] and "hidden" in messages[0]


async def test_rlmx_mcp_refuses_a_hidden_file_the_model_names(tmp_path: Path, project: Path) -> None:
    replies = script(tmp_path, [repl("FINAL(context)")])
    async with connect(tmp_path, "--scripted", str(replies), "--allow", str(project)) as (client, _):
        refused = await client.call_tool("rlm_ask", {"query": "what is the key?", "paths": [".env"]})
        visible = await client.call_tool("rlm_ask", {"query": "q", "paths": ["src/app.py"]})
    assert refused.is_error and "hidden" in text_of(refused) and "sk-secret" not in text_of(refused)
    assert payload(visible)["answer"] == "print('hi')\n"
