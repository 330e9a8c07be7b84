"""ECR repositories for otterd and the chatbot: immutable tags, scan on push, a lifecycle policy."""

import json

import pulumi
import pulumi_aws as aws

from . import names
from .tags import tags

LIFECYCLE_POLICY = {
    "rules": [
        {
            "rulePriority": 1,
            "description": "Expire untagged images after 7 days",
            "selection": {"tagStatus": "untagged", "countType": "sinceImagePushed", "countUnit": "days", "countNumber": 7},
            "action": {"type": "expire"},
        },
        {
            "rulePriority": 2,
            "description": "Keep the 50 most recent tagged images",
            "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 50},
            "action": {"type": "expire"},
        },
    ]
}


class Registry(pulumi.ComponentResource):
    def __init__(self, name: str, env: str, force_delete: bool, opts: pulumi.ResourceOptions | None = None):
        super().__init__("otter:registry:Registry", name, None, opts)
        self.repositories = {}
        for app, repo_name in names.repositories(env).items():
            repo = aws.ecr.Repository(
                f"{name}-{app}",
                name=repo_name,
                image_tag_mutability="IMMUTABLE",
                image_scanning_configuration={"scan_on_push": True},
                encryption_configurations=[{"encryption_type": "AES256"}],
                force_delete=force_delete,
                tags=tags(env, "registry", app=app),
                opts=pulumi.ResourceOptions(parent=self),
            )
            aws.ecr.LifecyclePolicy(
                f"{name}-{app}",
                repository=repo.name,
                policy=json.dumps(LIFECYCLE_POLICY),
                opts=pulumi.ResourceOptions(parent=repo),
            )
            self.repositories[app] = repo
        self.repository_urls = {app: r.repository_url for app, r in self.repositories.items()}
        self.repository_arns = [r.arn for r in self.repositories.values()]
        self.register_outputs({"repositoryUrls": self.repository_urls})
