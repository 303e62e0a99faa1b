"""Published best-time benchmarks, shown only as a labelled reference when nothing is measured for an account.

Source: Sprout Social, "Best times to post on social media" (2023 edition; aggregated over Sprout's
customers, in the audience's local time), as reported by Social Media Today on 2023-05-10
(https://www.socialmediatoday.com/news/report-best-times-to-post-social-platforms-twitter-instagram-tiktok-facebook-pintrist-linkedin/650006/)
and O'Dwyer's on 2023-06-07 (https://www.odwyerpr.com/story/public/19714/2023-06-07/midweek-afternoons-best-post-time-for-tiktok.html).
The study publishes *windows*, not effect sizes, so OCMA shows the windows and no lift figure, and never
schedules by them. Platforms it does not cover use its cross-platform finding (Tuesday to Thursday, 9:00
to 12:00).
"""

from __future__ import annotations

from dataclasses import dataclass

SOURCE = "Sprout Social, Best times to post on social media (2023), local time"
_MON, _TUE, _WED, _THU, _FRI = range(5)


@dataclass(frozen=True)
class Benchmark:
    """Windows of (weekday, start hour, end hour) in local time, with where they come from."""

    platform: str
    windows: tuple[tuple[int, int, int], ...]
    source: str
    note: str = ""

    def describe(self) -> str:
        """The windows in words."""
        names = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
        parts = [f"{names[d]} {s:02d}:00-{e:02d}:00" for d, s, e in self.windows]
        return ", ".join(parts)


_ALL_WEEKDAY_MORNINGS = tuple((d, 9, 12) for d in (_TUE, _WED, _THU))
BENCHMARKS: dict[str, Benchmark] = {
    "facebook": Benchmark("facebook", ((_MON, 8, 13), (_TUE, 8, 14), (_WED, 8, 13), (_THU, 8, 12)), SOURCE),
    "instagram": Benchmark(
        "instagram", ((_MON, 10, 12), (_TUE, 9, 13), (_WED, 10, 13), (_FRI, 9, 11)), SOURCE
    ),
    "x": Benchmark("x", tuple((d, 9, 12) for d in (_TUE, _WED, _THU, _FRI)), SOURCE),
    "linkedin": Benchmark("linkedin", ((_TUE, 10, 12), (_WED, 10, 12)), SOURCE),
}


def benchmark_for(platform: str) -> Benchmark:
    """The platform's published windows, else the study's cross-platform finding (labelled as such)."""
    found = BENCHMARKS.get(platform)
    if found is not None:
        return found
    return Benchmark(
        platform,
        _ALL_WEEKDAY_MORNINGS,
        SOURCE + ", cross-platform finding",
        note=f"the study has no {platform}-specific windows; its finding across platforms is used",
    )
