"""Link clicks measured by the workspace's own analytics: a signed `POST /webhooks/analytics` receiver
(Standard Webhooks), clicks per day and UTM campaign, each post's cumulative clicks as snapshots, and the
report section and views that show them beside the platforms' metrics (docs/clicks.md)."""
