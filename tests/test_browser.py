"""The pipeline notebooks in a real JupyterLab, driven by chromium: parameters switched to the tiny config, run all.
Screenshots are kept in test-artifacts/ (lab_<notebook>.png and lab_<notebook>_<what>.png)."""
import os, re, shutil, subprocess, sys, time, urllib.request
import pytest
from conftest import ROOT, ARTIFACTS, free_port, wait_for

STEPS = ('prepare', 'train', 'evaluate')
ERROR_MIME = ('application/vnd.jupyter.stderr', 'application/vnd.jupyter.error')


@pytest.fixture(scope='module')
def lab(tmp_path_factory):
    "One JupyterLab for all three notebooks, on a free port, over copies of the pipeline notebooks"
    work = tmp_path_factory.mktemp('lab')
    for s in STEPS:
        shutil.copy(ROOT/'nbs'/f'pipeline_{s}.ipynb', work)
    port = free_port()
    env = {**os.environ, 'FINETUNE_NB_RUNS': str(work/'runs'), 'JUPYTER_CONFIG_DIR': str(work/'.jupyter'),
           'JUPYTERLAB_SETTINGS_DIR': str(work/'.lab-settings'), 'JUPYTERLAB_WORKSPACES_DIR': str(work/'.lab-ws')}
    cmd = [str(os.path.join(os.path.dirname(sys.executable), 'jupyter')), 'lab', '--no-browser', '--allow-root',
           f'--ServerApp.port={port}', '--ServerApp.port_retries=0', "--IdentityProvider.token=",
           '--ServerApp.password=', f'--ServerApp.root_dir={work}', '--LabApp.news_url=None',
           '--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate']
    log = open(work/'lab.log', 'w')
    proc = subprocess.Popen(cmd, cwd=work, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f'http://127.0.0.1:{port}/'

    def up():
        try:
            return urllib.request.urlopen(base + 'api/status', timeout=2).status == 200
        except OSError:
            return False
    try:
        wait_for(up, 120, 'JupyterLab to start')
        yield base, work
    finally:
        proc.terminate()
        proc.wait(30)
        log.close()


def _wait_done(page, timeout):
    "Until every code cell shows an execution count, or an error output appears"
    deadline = time.time() + timeout
    while time.time() < deadline:
        prompts = page.locator('.jp-CodeCell .jp-InputArea-prompt').all_text_contents()
        if prompts and all(re.search(r'\[\d+\]', p) for p in prompts):
            return prompts
        if page.locator('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.error"]').count():
            return prompts
        time.sleep(1)
    page.screenshot(path=str(ARTIFACTS/'lab_timeout.png'))
    raise AssertionError(f'the notebook did not finish in {timeout} s: prompts {prompts}')


def _run_notebook(browser, base, name, edit=None, timeout=600):
    page = browser.new_page(viewport=dict(width=1400, height=1000))
    page.goto(f'{base}lab/workspaces/{name.split(".")[0]}/tree/{name}?reset')   # its own workspace: no other tab
    page.wait_for_selector('.jp-NotebookPanel .jp-Notebook .jp-CodeCell', timeout=120_000)
    page.wait_for_selector('.jp-Notebook-ExecutionIndicator[data-status="idle"]', timeout=120_000)
    if edit:
        cell = page.locator('.jp-CodeCell', has_text='config_file: str').first
        editor = cell.locator('.cm-content')
        editor.click()
        page.keyboard.press('Control+a')
        page.keyboard.insert_text(edit(editor.inner_text()))
        page.keyboard.press('Escape')
    for attempt in range(3):   # a keystroke that lands before the notebook has focus is lost: look, and retry
        page.locator('.jp-NotebookPanel .jp-Cell .jp-InputPrompt').first.click()
        page.keyboard.press('Escape')            # command mode
        page.keyboard.press('Control+a')         # select every cell
        page.keyboard.press('Control+Enter')     # and run them, adding no cell: run all
        started = time.time()
        while time.time() - started < 20:
            texts = page.locator('.jp-CodeCell .jp-InputArea-prompt').all_text_contents()
            if any(re.search(r'\[(\*|\d+)\]', t) for t in texts):
                break
            time.sleep(0.5)
        else:
            continue
        break
    prompts = _wait_done(page, timeout)
    time.sleep(1)
    return page, prompts


def _errors(page):
    out = []
    for mime in ERROR_MIME:
        out += page.locator(f'.jp-OutputArea-output[data-mime-type="{mime}"]').all_text_contents()
    return out


@pytest.fixture(scope='module')
def executed(lab, browser):
    "Each pipeline notebook opened, switched to the tiny config, run all; the page kept open for the checks"
    base, work = lab
    ARTIFACTS.mkdir(exist_ok=True)
    tiny = str(ROOT/'configs'/'tiny.yaml')
    pages = {}
    for s in STEPS:
        edit = (lambda src: src.replace('"configs/demo.yaml"', repr(tiny).replace("'", '"'))) if s == 'prepare' else None
        page, prompts = _run_notebook(browser, base, f'pipeline_{s}.ipynb', edit)
        page.screenshot(path=str(ARTIFACTS/f'lab_pipeline_{s}.png'))
        pages[s] = page, prompts
    yield pages, work
    for page, _ in pages.values():
        page.close()


def test_no_error_output(executed):
    pages, work = executed
    for s, (page, prompts) in pages.items():
        assert all(re.search(r'\[\d+\]', p) for p in prompts), (s, prompts)
        errors = [e for e in _errors(page) if re.search(r'Traceback|Error\b|Exception', e)]
        assert not errors, (s, errors[:3])
    cfgs = list((work/'runs').glob('*/config.yaml'))
    assert len(cfgs) == 1 and 'model: tiny-random-llama' in cfgs[0].read_text(), 'the parameters cell was not switched'


def test_no_warnings_in_the_pipeline_notebooks(executed):
    "The known harmless third-party warnings are filtered for the notebooks' own run: no red stderr box at all"
    pages, _ = executed
    stderr = {s: _errors(page) for s, (page, _) in pages.items()}
    assert not any(stderr.values()), stderr


def test_tqdm_renders_as_a_widget(executed):
    pages, _ = executed
    page, _ = pages['train']
    bar = page.locator('.jp-OutputArea-output .widget-hprogress, .jp-OutputArea-output .widget-progress').first
    assert bar.count(), 'no tqdm progress widget in pipeline_train'
    bar.scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS/'lab_pipeline_train_tqdm.png'))


def test_plots_are_images(executed):
    pages, _ = executed
    for s in STEPS:
        page, _ = pages[s]
        imgs = page.locator('.jp-OutputArea-output img')
        assert imgs.count() >= 1, f'no plot in pipeline_{s}'
        sizes = imgs.evaluate_all('els => els.map(i => i.naturalWidth)')
        assert all(w > 0 for w in sizes), (s, sizes)


def test_verdict_table_renders(executed):
    pages, _ = executed
    page, _ = pages['evaluate']
    table = page.locator('.jp-RenderedMarkdown table', has_text='held-out loss').first
    assert table.count(), 'no verdict table in pipeline_evaluate'
    head = table.locator('th').all_text_contents()
    assert head[0] == 'system' and any('95 % CI' in h for h in head), head
    assert table.locator('tbody tr').count() >= 3
    verdict = page.locator('.jp-RenderedMarkdown strong').first.text_content()
    assert 'fine-tun' in verdict.lower() or 'prompt' in verdict.lower(), verdict
    table.scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS/'lab_pipeline_evaluate_verdict.png'))
