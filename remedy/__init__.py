"""remedy: plan what to do for customers after a company's mistake.

The package is a library first: `remedy.load` reads an incident file, `remedy.value` values the
affected customers, `remedy.score` and `remedy.plan` choose the remedies, `remedy.drafts` writes
the messages. `remedy.cli` is a thin command-line layer over them.
"""

__version__ = "0.1.0"
