"""Money, criteria, aggregation, ranking and allocation: pure Python, no Flask, no database."""
