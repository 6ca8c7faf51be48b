"The docs site (bash tools/docs.sh): built, served with python -m http.server, every page crawled in chromium"
import subprocess, sys, urllib.request
from pathlib import Path
from urllib.parse import urljoin, urldefrag, urlparse
import pytest
from conftest import ROOT, ARTIFACTS, free_port, wait_for

OUT = ROOT/'_build'/'test-docs'


@pytest.fixture(scope='module')
def site():
    "The site built as tools/docs.sh builds it (the executed API pages are cached in _build/docs), then served"
    subprocess.run([sys.executable, '-m', 'finetune_nb.docs', '--out', str(OUT)], cwd=ROOT, check=True, timeout=3600)
    assert (OUT/'index.html').exists()
    port = free_port()
    server = subprocess.Popen([sys.executable, '-m', 'http.server', str(port), '--bind', '127.0.0.1', '--directory',
                               str(OUT)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f'http://127.0.0.1:{port}/'

    def up():
        try:
            return urllib.request.urlopen(base + 'index.html', timeout=2).status == 200
        except OSError:
            return False
    try:
        wait_for(up, 30, 'the docs server')
        yield base
    finally:
        server.terminate()
        server.wait(10)


def _crawl(browser, base):
    "Visit every internal page from index.html; per page: status, links, missing anchors, broken images, error cells"
    page = browser.new_page()
    todo, seen, found = [base + 'index.html'], set(), {}
    anchors = []
    while todo:
        url = todo.pop()
        if url in seen:
            continue
        seen.add(url)
        resp = page.goto(url)
        info = dict(status=resp.status if resp else None)
        page.wait_for_load_state('load')
        info['ids'] = set(page.eval_on_selector_all('[id]', 'els => els.map(e => e.id)'))
        info['broken_images'] = page.eval_on_selector_all(
            'img', 'els => els.filter(i => !i.complete || i.naturalWidth === 0).map(i => i.src)')
        info['images'] = page.eval_on_selector_all('img', 'els => els.length')
        info['errors'] = page.eval_on_selector_all('.cell_output .traceback, .output.traceback, .output.error',
                                                   'els => els.map(e => e.innerText.slice(0, 300))')
        info['title'] = page.title()
        found[url] = info
        for href in page.eval_on_selector_all('a[href]', 'els => els.map(a => a.href)'):
            target, frag = urldefrag(href)
            if urlparse(target).netloc != urlparse(base).netloc:
                continue
            if target.endswith('/'):
                target += 'index.html'
            anchors.append((url, target, frag))
            if target.endswith('.html') and target not in seen:
                todo.append(target)
    page.close()
    return found, anchors


@pytest.fixture(scope='module')
def crawled(site, browser):
    return _crawl(browser, site)


def test_every_page_loads_without_error_cells_or_broken_images(crawled, site):
    pages, _ = crawled
    names = {urlparse(u).path.lstrip('/') for u in pages}
    for want in ('index.html', 'tutorial/index.html', 'tutorial/pipeline_train.html', 'tutorial/report.html',
                 'guides/pipeline_prepare.html', 'api/04_evaluate.html', 'api/14_docs.html'):
        assert want in names, f"{want} not reachable from the home page"
    assert not {u: p['status'] for u, p in pages.items() if p['status'] != 200}
    assert not {u: p['errors'] for u, p in pages.items() if p['errors']}, 'error cells on the site'
    assert not {u: p['broken_images'] for u, p in pages.items() if p['broken_images']}, 'images that do not load'
    assert sum(p['images'] for u, p in pages.items() if '/tutorial/' in u) >= 3, "the tutorial's plots are missing"


def test_no_broken_internal_links(crawled):
    pages, anchors = crawled
    broken = [(src, dst) for src, dst, _ in anchors if dst.endswith('.html') and dst not in pages]
    assert not broken, broken
    missing = [(src, dst, frag) for src, dst, frag in anchors if frag and dst in pages and frag not in pages[dst]['ids']]
    assert not missing, missing[:10]


def test_api_pages_show_signatures_and_parameter_docs(site, browser):
    "show_doc renders each exported function's signature with its docments, e.g. proc_notebooks's"
    ARTIFACTS.mkdir(exist_ok=True)
    page = browser.new_page()
    page.goto(site + 'api/14_docs.html')
    text = page.inner_text('main, body')
    assert 'proc_notebooks' in text and 'reprocess every notebook, not only the changed ones' in text
    sig = page.locator('p.rubric#proc-notebooks + div').first.inner_text()
    assert 'def proc_notebooks(' in sig and 'reprocess every notebook, not only the changed ones' in sig, sig
    assert 'without its Quarto install' in text
    page.screenshot(path=str(ARTIFACTS/'docs_api_14_docs.png'), full_page=False)
    page.goto(site + 'index.html')
    page.screenshot(path=str(ARTIFACTS/'docs_home.png'), full_page=False)
    page.goto(site + 'tutorial/pipeline_evaluate.html')
    page.screenshot(path=str(ARTIFACTS/'docs_tutorial_evaluate.png'), full_page=True)
    page.close()
