"""The chatbot's chat history: a DynamoDB table, on demand, encrypted, with TTL."""

import pulumi
import pulumi_aws as aws

from . import names
from .tags import tags


class Data(pulumi.ComponentResource):
    def __init__(self, name: str, env: str, protect: bool, opts: pulumi.ResourceOptions | None = None):
        super().__init__("otter:data:Data", name, None, opts)
        self.table = aws.dynamodb.Table(
            f"{name}-chat-history",
            name=names.table_name(env),
            billing_mode="PAY_PER_REQUEST",
            hash_key=names.TABLE_HASH_KEY,
            range_key=names.TABLE_RANGE_KEY,
            attributes=[
                {"name": names.TABLE_HASH_KEY, "type": "S"},
                {"name": names.TABLE_RANGE_KEY, "type": "N"},
            ],
            ttl={"attribute_name": names.TABLE_TTL_ATTRIBUTE, "enabled": True},
            server_side_encryption={"enabled": True},
            point_in_time_recovery={"enabled": protect},
            deletion_protection_enabled=protect,
            tags=tags(env, "data"),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.table_name = self.table.name
        self.table_arn = self.table.arn
        self.register_outputs({"tableName": self.table_name, "tableArn": self.table_arn})
