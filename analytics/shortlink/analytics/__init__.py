"""Analytics worker: drains click events from Kafka into ClickHouse."""
