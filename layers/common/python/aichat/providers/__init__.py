"""Model providers: an adapter module each, the interface they implement (interface.py), their keys, the registry
that builds them and the failover between them. What is known about each provider is in core/provider_catalog.py."""
