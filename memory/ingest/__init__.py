"""The parts of ingest, each with one job; `memory.build` runs them in order for each span:

- `spans`: which spans of whole base segments a run covers, from the last commit on;
- `decode`: the frames of each span, decoded one span ahead;
- `perceive`: OCR, speech (on the loud stretch only) and detection of a span, in a thread pool;
- `evidence`: what each base segment of a span read, heard, saw, and where its scene changed;
- `describe`: captions, facts and summaries, from the VLM while its guard allows, offline otherwise;
- `rollup`: the coarser segments a span closes, summarising their children;
- `tracker`: stage times and positions, counters, warnings and progress reports;
- `failure`: what a failed run leaves behind.
"""
