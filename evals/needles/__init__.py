"""Needle sets built the honest way: long videos of real footage with speech and notices at known, unaligned times.

`suite` is the benchmark (`needle:full`, `needle:heldout`, `needle:ci`); `scenario` writes one
video's script from `content`'s pools, `plan` places it in time, `render` encodes it, and
`questions` asks about it, with truths scored by `evals.grading`.
"""
