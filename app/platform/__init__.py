"""The platform: what every domain stands on and none owns (database session hooks, the queue,
the cache, rate limits, security headers, error pages, templating, query counting)."""
