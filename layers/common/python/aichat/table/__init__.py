"""Everything that reads or writes the single DynamoDB table: each kind of item has one module here."""
