"""The resumable JSONL of finished runs and the per-run progress line."""
import json
import os
import os.path as osp
import time
from typing import Dict, Iterable, List, Optional


class ResultsFile:
    """Append-only JSONL of finished runs; resume skips runs already recorded.

    Each line: ``dict(method, seed, settings, metrics, seconds, ...)``. Only lines
    whose ``settings`` equal this study's count as done, so changing e.g. the number
    of epochs in the same ``--out`` starts those runs afresh instead of mixing them.
    """

    def __init__(self, path: str, settings: dict):
        self.path = path
        self.settings = json.loads(json.dumps(settings))  # plain JSON types
        self.records: List[dict] = []
        if osp.isfile(path):
            with open(path) as f:
                for i, line in enumerate(f):
                    line = line.strip()
                    if not line:
                        continue
                    try:
                        rec = json.loads(line)
                    except json.JSONDecodeError:
                        # a run killed while writing its line: ignore that line
                        continue
                    if rec.get('settings') == self.settings:
                        self.records.append(rec)

    def done(self, method: str, seed: int) -> Optional[dict]:
        for rec in self.records:
            if rec['method'] == method and rec['seed'] == seed:
                return rec
        return None

    def append(self, method: str, seed: int, metrics: dict, seconds: float,
               **extra) -> dict:
        rec = dict(
            method=method,
            seed=seed,
            settings=self.settings,
            metrics=metrics,
            seconds=round(float(seconds), 2),
            **extra)
        os.makedirs(osp.dirname(osp.abspath(self.path)), exist_ok=True)
        with open(self.path, 'a') as f:
            f.write(json.dumps(rec) + '\n')
            f.flush()
            os.fsync(f.fileno())
        self.records.append(rec)
        return rec

    def values(self, key: str, methods: Iterable[str]) -> Dict[str, Dict[int, float]]:
        """``{method: {seed: metrics[key]}}`` of the recorded runs."""
        out = {m: {} for m in methods}
        for rec in self.records:
            if rec['method'] in out and key in rec['metrics']:
                out[rec['method']][rec['seed']] = float(rec['metrics'][key])
        return out


def _hms(seconds: float) -> str:
    seconds = int(round(max(seconds, 0)))
    return f'{seconds // 3600:d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}'


class Progress:
    """One line per run: ``[k/N] name seed s: result (t s) | elapsed, ETA``.

    The ETA is the mean time of the runs trained in this process (resumed runs cost
    nothing) times the runs left, divided by the number of runs trained at once.
    """

    def __init__(self, total: int, already_done: int = 0, jobs: int = 1):
        self.total, self.done, self.jobs = total, already_done, max(1, jobs)
        self.start = time.perf_counter()
        self.trained_seconds, self.trained = 0.0, 0

    def line(self,
             name: str,
             seed: int,
             result: str,
             seconds: float,
             resumed: bool = False) -> str:
        self.done += 1
        if not resumed:
            self.trained_seconds += seconds
            self.trained += 1
        left = self.total - self.done
        per_run = self.trained_seconds / self.trained if self.trained else 0.0
        eta = _hms(per_run * left / self.jobs) if self.trained else '?'
        tag = 'resumed' if resumed else f'{seconds:.1f} s'
        return (f'[{self.done}/{self.total}] {name} seed {seed}: {result} ({tag}) | '
                f'elapsed {_hms(time.perf_counter() - self.start)}, ETA {eta}')
