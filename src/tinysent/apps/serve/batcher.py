"""Continuous batching of concurrent requests into model calls."""

from __future__ import annotations

import asyncio

CALL_BATCH = 64  # texts per model call inside a batch (Predictor.predict's batch_size)


class MicroBatcher:
    """Continuous batching: one worker scores everything queued as one model call in a thread, and
    whatever arrives meanwhile becomes the next call. Batches grow with load and no request waits for
    a timer; ``window_s`` > 0 adds a fixed wait after the first request (rarely better, measured in
    benchmarks/serve_load.py)."""

    def __init__(self, predictor, window_s: float, max_batch: int):
        self.predictor, self.window, self.max_batch = predictor, window_s, max_batch
        self.queue: asyncio.Queue = asyncio.Queue()
        self.task: asyncio.Task | None = None

    def start(self) -> None:
        self.task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self.task:
            self.task.cancel()

    async def submit(self, texts: list[str], band, binary: bool = False) -> list[dict]:
        fut = asyncio.get_running_loop().create_future()
        self.queue.put_nowait((texts, (band, binary), fut))
        return await fut

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            jobs = [await self.queue.get()]
            n = len(jobs[0][0])
            if n < self.max_batch and self.window > 0:
                await asyncio.sleep(self.window)  # let concurrent requests join this batch
            # Drain without wait_for(queue.get()): a timed-out get can drop an item it already took.
            while n < self.max_batch and not self.queue.empty():
                job = self.queue.get_nowait()
                jobs.append(job)
                n += len(job[0])
            # One model call per distinct (band, binary) option (almost always one).
            by_band: dict = {}
            for job in jobs:
                by_band.setdefault(job[1], []).append(job)
            for (band, binary), group in by_band.items():
                texts = [t for job in group for t in job[0]]
                try:
                    records = await loop.run_in_executor(
                        None, self.predictor.predict, texts, CALL_BATCH, band, binary
                    )
                except Exception:
                    # One request's input may have broken the shared call: score each alone, so only
                    # that request fails and its neighbours get their answers.
                    await self._one_by_one(loop, group, band, binary)
                    continue
                i = 0
                for job in group:
                    k = len(job[0])
                    if not job[2].done():
                        job[2].set_result(records[i : i + k])
                    i += k

    async def _one_by_one(self, loop, group, band, binary) -> None:
        for texts, _, fut in group:
            try:
                records = await loop.run_in_executor(
                    None, self.predictor.predict, texts, CALL_BATCH, band, binary
                )
            except Exception as e:  # never lose a waiting request
                if not fut.done():
                    fut.set_exception(e)
            else:
                if not fut.done():
                    fut.set_result(records)
