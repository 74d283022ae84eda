"""pv-control: charge an electric car from rooftop solar, as small services on MQTT."""

__version__ = "0.1.0"
