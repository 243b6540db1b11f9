"""Running the product on one machine: the local server (`python -m localdev`), its DynamoDB, dev tokens."""
