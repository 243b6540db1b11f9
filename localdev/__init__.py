"""Running the product on one machine: the embedded DynamoDB (and, later, the local server)."""
