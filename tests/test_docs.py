"""The docs site builds in strict mode, lists every page, and README.md stays a
short landing page whose relative links all resolve."""
import os
import os.path as osp
import re
import subprocess
import sys

import pytest
import yaml

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
DOCS = osp.join(ROOT, 'docs')
README = osp.join(ROOT, 'README.md')
README_MAX_LINES = 200

# [text](target) and [text](target "title"); images too. Targets with a scheme
# (https:, mailto:) or only an anchor are not files.
LINK = re.compile(r'!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)')
EXTERNAL = re.compile(r'^[a-zA-Z][a-zA-Z0-9+.-]*:')


def nav_pages(nav) -> list:
    """Every .md file named anywhere in a mkdocs nav (nested sections included)."""
    pages = []
    if isinstance(nav, str):
        pages.append(nav)
    elif isinstance(nav, list):
        for item in nav:
            pages += nav_pages(item)
    elif isinstance(nav, dict):
        for value in nav.values():
            pages += nav_pages(value)
    return [p for p in pages if p.endswith('.md')]


def load_mkdocs_config() -> dict:
    with open(osp.join(ROOT, 'mkdocs.yml'), encoding='utf-8') as f:
        return yaml.safe_load(f)


def strip_code(markdown: str) -> str:
    """Markdown without fenced code blocks and code spans (links there are text)."""
    markdown = re.sub(r'^```.*?^```', '', markdown, flags=re.S | re.M)
    return re.sub(r'`[^`\n]*`', '', markdown)


def test_every_docs_page_is_in_the_nav():
    config = load_mkdocs_config()
    assert config.get('docs_dir', 'docs') == 'docs'
    assert config['theme']['name'] == 'material'
    listed = nav_pages(config['nav'])
    assert len(listed) == len(set(listed)), f'a page is listed twice: {listed}'
    pages = sorted(f for f in os.listdir(DOCS) if f.endswith('.md'))
    missing = [p for p in pages if p not in listed]
    assert not missing, f'docs pages not in the nav of mkdocs.yml: {missing}'
    absent = [p for p in listed if not osp.isfile(osp.join(DOCS, p))]
    assert not absent, f'nav entries without a page: {absent}'


def test_mkdocs_build_strict(tmp_path):
    pytest.importorskip('mkdocs', reason='pip install -e ".[tests]" installs mkdocs')
    pytest.importorskip('material', reason='pip install -e ".[tests]" installs mkdocs-material')
    env = dict(os.environ, NO_MKDOCS_2_WARNING='1')
    out = subprocess.run(
        [sys.executable, '-m', 'mkdocs', 'build', '--strict', '--site-dir', str(tmp_path / 'site')],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, f'mkdocs build --strict failed:\n{out.stdout}\n{out.stderr}'
    assert (tmp_path / 'site' / 'index.html').is_file()


def test_readme_is_a_short_landing_page():
    with open(README, encoding='utf-8') as f:
        lines = f.read().splitlines()
    assert len(lines) <= README_MAX_LINES, \
        f'README.md has {len(lines)} lines; move details to docs/ (limit {README_MAX_LINES})'


def test_readme_keeps_the_ci_test_command():
    with open(README, encoding='utf-8') as f:
        text = f.read()
    assert 'make demo' in text
    assert "make test TORCH='torch==2.13.0'" in text  # what .ci/run runs


def test_readme_relative_links_point_to_files():
    with open(README, encoding='utf-8') as f:
        text = strip_code(f.read())
    targets = [t for t in LINK.findall(text) if not EXTERNAL.match(t) and not t.startswith('#')]
    assert targets, 'README.md links to nothing in the repository'
    broken = []
    for target in targets:
        path = target.split('#', 1)[0]
        if path.startswith('/') or not osp.exists(osp.join(ROOT, path)):
            broken.append(target)
    assert not broken, f'README.md links to files that do not exist: {sorted(set(broken))}'
