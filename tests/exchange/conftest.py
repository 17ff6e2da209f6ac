"""Exchange tests use the server fixtures of tests/conftest.py (``axis``, ``db_template``, ``test_ca``)."""
