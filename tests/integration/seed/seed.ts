import { KinesisClient, PutRecordCommand } from "@aws-sdk/client-kinesis";

// Initialize the Kinesis client
const kinesisClient = new KinesisClient({
  region: "us-east-1", // Replace with your AWS region
  endpoint: process.env.KINESIS_ENDPOINT,
  credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "secret" },
});

/**
 * Adds a record to the specified Kinesis Data Stream.
 *
 * @param streamName - The name of the Kinesis Data Stream.
 * @param data - The data to send to the stream.
 * @param partitionKey - The partition key to determine the shard for the record.
 * @returns A Promise with the response from the PutRecord API.
 */
async function addRecordToKinesis(
  streamName: string,
  data: string,
  partitionKey: string
): Promise<any> {
  try {
    // Convert the data to binary format
    const encodedData = Buffer.from(data);

    // Create the PutRecordCommand
    const putRecord = new PutRecordCommand({
      StreamName: streamName,
      Data: encodedData,
      PartitionKey: partitionKey,
    });

    // Send the record to the Kinesis stream
    const response = await kinesisClient.send(putRecord);
    console.log("Record added successfully:", response);
    return response;
  } catch (err: any) {
    console.error("Error adding record to Kinesis stream:", err.message);
    return undefined;
  }
}

// Example usage
const streamName = "emi-kinesis-stream"; // Replace with your stream name
const data = "Hello, Emi"; // Example data payload
const partitionKey = "PartitionKey1"; // Partition key for routing

addRecordToKinesis(streamName, data, partitionKey).catch((err) =>
  console.error("Error in example usage:", err)
);
