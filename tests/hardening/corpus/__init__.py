"""The bad-input corpus: broken stack files, agent specs, CLI arguments and damaged state.

``python tests/hardening/corpus/run.py`` runs every case through the real CLIs (in one
worker process, each case under a time and memory limit) and prints the counts: tried,
clean exit 2, wrongly accepted, exit 1, traceback. tests/hardening/test_corpus.py runs it
in CI and requires every case to end as expected.
"""
