# syntax=docker/dockerfile:1
# The tools image the ops workflows run deploy/ansible in: Pulumi, Ansible, kubectl, Helm and the
# AWS CLI at the versions deploy/ansible/inventory/group_vars/all.yml pins (bootstrap checks them;
# tests/deploy checks that both files agree). Build from the repository root:
#   docker build -f deploy/docker/tools.Dockerfile -t otter-tools .
FROM debian:12-slim

ARG PULUMI_VERSION=3.272.0
ARG KUBECTL_VERSION=v1.33.5
ARG HELM_VERSION=v3.19.0
ARG AWSCLI_VERSION=2.31.19
# amd64 only for now (the AWS CLI and Pulumi archives below are the x86_64 ones).
ARG TARGETARCH=amd64

SHELL ["/bin/bash", "-o", "pipefail", "-c"]

RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl git python3 python3-venv unzip \
 && rm -rf /var/lib/apt/lists/*

# Each download is checked against the checksum its publisher ships beside it.
RUN curl -fsSLo /tmp/pulumi.tgz "https://get.pulumi.com/releases/sdk/pulumi-v${PULUMI_VERSION}-linux-x64.tar.gz" \
 && curl -fsSLo /tmp/pulumi.sums "https://get.pulumi.com/releases/sdk/pulumi-${PULUMI_VERSION}-checksums.txt" \
 && grep " pulumi-v${PULUMI_VERSION}-linux-x64.tar.gz\$" /tmp/pulumi.sums | sed 's/ .*/  \/tmp\/pulumi.tgz/' | sha256sum -c - \
 && tar -xzf /tmp/pulumi.tgz -C /usr/local/lib && ln -s /usr/local/lib/pulumi/pulumi /usr/local/bin/pulumi \
 && rm /tmp/pulumi.tgz /tmp/pulumi.sums

RUN curl -fsSLo /usr/local/bin/kubectl "https://dl.k8s.io/release/${KUBECTL_VERSION}/bin/linux/${TARGETARCH}/kubectl" \
 && echo "$(curl -fsSL "https://dl.k8s.io/release/${KUBECTL_VERSION}/bin/linux/${TARGETARCH}/kubectl.sha256")  /usr/local/bin/kubectl" | sha256sum -c - \
 && chmod 0755 /usr/local/bin/kubectl

RUN curl -fsSLo /tmp/helm.tgz "https://get.helm.sh/helm-${HELM_VERSION}-linux-${TARGETARCH}.tar.gz" \
 && echo "$(curl -fsSL "https://get.helm.sh/helm-${HELM_VERSION}-linux-${TARGETARCH}.tar.gz.sha256sum" | cut -d' ' -f1)  /tmp/helm.tgz" | sha256sum -c - \
 && tar -xzf /tmp/helm.tgz -C /tmp && install -m 0755 "/tmp/linux-${TARGETARCH}/helm" /usr/local/bin/helm \
 && rm -rf /tmp/helm.tgz "/tmp/linux-${TARGETARCH}"

RUN curl -fsSLo /tmp/awscli.zip "https://awscli.amazonaws.com/awscli-exe-linux-x86_64-${AWSCLI_VERSION}.zip" \
 && unzip -q /tmp/awscli.zip -d /tmp && /tmp/aws/install && rm -rf /tmp/awscli.zip /tmp/aws

# Ansible, the Pulumi SDK and provider, boto3 for verify-clean: the same pins as the tests.
COPY deploy/requirements.txt /opt/otter/requirements.txt
RUN python3 -m venv /opt/otter/venv \
 && /opt/otter/venv/bin/pip install --no-cache-dir -r /opt/otter/requirements.txt
ENV PATH=/opt/otter/venv/bin:$PATH

RUN useradd --create-home --uid 10001 otter
USER otter
WORKDIR /work
# One-shot jobs (the playbooks, verify-clean): no long-running process to probe.
HEALTHCHECK NONE
