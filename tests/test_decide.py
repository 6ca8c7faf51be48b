"`finetune-nb decide` in the terminal, by flags or by answering its questions, and the run config's decision section."
import os, subprocess
from conftest import ROOT, BIN, cli


def test_decide_by_flags_prints_the_recommendation_and_the_yaml():
    r = cli('decide', '--domain-knowledge', 'yes', '--retrievable', 'yes', '--no-input', '--yaml')
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith('Recommendation: RAG. Knowledge that can be looked up belongs in retrieval')
    assert 'decision:\n  domain_knowledge: yes\n  retrievable: yes\n' in r.stdout


def test_decide_asks_the_questions_it_was_not_given():
    # asked in order, the flagged prompt_solves skipped: domain_knowledge no; retrievable 'maybe' is asked again, no;
    # format_style yes; then the input ends and latency_cost and general_qa are unknown
    answers = 'no\nmaybe\nno\nyes\n'
    r = subprocess.run([str(BIN/'finetune-nb'), 'decide', '--prompt-solves', 'no'], input=answers, cwd=ROOT,
                       capture_output=True, text=True, timeout=120, env=os.environ)
    assert r.returncode == 0, r.stderr
    assert 'Does the task need domain knowledge' in r.stdout and 'Is the problem latency or cost' in r.stdout
    assert 'please answer yes, no or unknown' in r.stderr
    assert 'Recommendation: fine-tune. A format or style that prompts can' in r.stdout


def test_decide_rejects_a_bad_answer():
    r = cli('decide', '--latency-cost', 'maybe')
    assert r.returncode == 2 and "invalid choice: 'maybe'" in r.stderr


def test_decision_section_in_a_config_is_validated_naming_the_key(tmp_path):
    good = tmp_path/'good.yaml'
    good.write_text('name: x\ndecision:\n  format_style: yes\n  prompt_solves: no\n')
    r = cli('config', good)
    assert r.returncode == 0 and 'format_style: true' in r.stdout, r.stderr
    bad = tmp_path/'bad.yaml'
    bad.write_text('name: x\ndecision:\n  retreivable: yes\n  latency_cost: sometimes\n')
    r = cli('config', bad)
    assert r.returncode == 2
    assert "decision: unknown question 'retreivable'" in r.stderr and "decision.latency_cost: 'sometimes'" in r.stderr
