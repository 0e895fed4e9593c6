"""SQS event source mappings as Lambda runs them.

One poller per deployed mapping (read back from moto): it receives up to the
mapping's BatchSize messages with the function's own role (Lambda polls with
the execution role, so the IAM stage sees ReceiveMessage and DeleteMessage
checked against that role), builds the SQS event, invokes the function
synchronously, and then:

- with `ReportBatchItemFailures`, deletes every message but the reported
  ones; without it, deletes all on success and none on a function error;
- leaves failed messages in the queue, where they come back after the
  visibility timeout and move to the dead-letter queue after the redrive
  policy's maxReceiveCount (moto applies the redrive policy on receive).
"""

import threading
import time


class Poller:
    def __init__(self, mapping, function, sqs, host, log):
        """`sqs`: a boto3 SQS client with the function role's credentials,
        pointed at the AWS front."""
        self.mapping = mapping
        self.function = function
        self.sqs = sqs
        self.host = host
        self.log = log
        self.stopping = threading.Event()
        self.idle = threading.Event()
        self.batches = []  # (message ids, failed ids, function error)
        self.thread = threading.Thread(target=self.run, daemon=True)

    def start(self):
        self.thread.start()

    def stop(self):
        self.stopping.set()
        self.thread.join(timeout=30)

    def run(self):
        url = self.mapping["queue_url"]
        arn = self.mapping["event_source_arn"]
        size = self.mapping.get("batch_size", 10)
        report = "ReportBatchItemFailures" in (self.mapping.get("function_response_types") or [])
        while not self.stopping.is_set():
            try:
                received = self.sqs.receive_message(
                    QueueUrl=url,
                    MaxNumberOfMessages=min(size, 10),
                    WaitTimeSeconds=1,
                    AttributeNames=["All"],
                    MessageAttributeNames=["All"],
                )
            except Exception as error:  # noqa: BLE001 - counted as a finding by the caller
                self.batches.append(([], [], f"receive failed: {error}"))
                time.sleep(0.5)
                continue
            messages = received.get("Messages", [])
            if not messages:
                self.idle.set()
                continue
            self.idle.clear()
            event = {"Records": [self.record(message, arn) for message in messages]}
            outcome = self.host.invoke(self.function["name"], event)
            ids = [message["MessageId"] for message in messages]
            if outcome.failed:
                failed = ids
            elif report:
                answer = outcome.json() or {}
                failed = [item.get("itemIdentifier") for item in answer.get("batchItemFailures") or []]
                if any(item not in ids for item in failed):
                    # Lambda treats an unknown identifier as a whole-batch failure.
                    failed = ids
            else:
                failed = []
            self.batches.append((ids, failed, outcome.function_error))
            done = [m for m in messages if m["MessageId"] not in failed]
            if done:
                self.sqs.delete_message_batch(
                    QueueUrl=url,
                    Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)],
                )

    def record(self, message, arn):
        return {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message.get("Body", ""),
            "attributes": message.get("Attributes", {}),
            "messageAttributes": {
                name: {
                    "stringValue": value.get("StringValue"),
                    "binaryValue": value.get("BinaryValue"),
                    "stringListValues": [],
                    "binaryListValues": [],
                    "dataType": value.get("DataType"),
                }
                for name, value in (message.get("MessageAttributes") or {}).items()
            },
            "md5OfBody": message.get("MD5OfBody", ""),
            "eventSource": "aws:sqs",
            "eventSourceARN": arn,
            "awsRegion": arn.split(":")[3],
        }

    def wait_idle(self, timeout=60):
        """Until a receive came back empty after the last batch."""
        deadline = time.monotonic() + timeout
        self.idle.clear()
        while time.monotonic() < deadline:
            if self.idle.wait(0.2):
                return True
        return False
