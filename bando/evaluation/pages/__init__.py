"""The committee's pages: the evaluators' (evaluator.py) and the officer's."""
