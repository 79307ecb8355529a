// efo: a second real client for runnel's enhanced fan-out, the AWS SDK for Go v2 (Debian's
// golang-github-aws-aws-sdk-go-v2-dev, built in GOPATH mode against /usr/share/gocode).
//
// Run by tests/integration/go.test.mjs with KINESIS_ENDPOINT=http://127.0.0.1:PORT. Steps:
//  1. PutRecords + GetRecords through the SDK's default HTTP client (HTTP/1.1 to an http:// URL).
//  2. CreateStream (1 shard), RegisterStreamConsumer, DescribeStreamConsumer until ACTIVE,
//     SubscribeToShard LATEST over h2c (golang.org/x/net/http2, AllowHTTP, plain-TCP dial),
//     20 PutRecord calls after the subscription started, all 20 received in order with the
//     Data, PartitionKey and SequenceNumber the puts returned; then Close.
//  3. SubscribeToShard TRIM_HORIZON on a second consumer: the same 20 records, from the start.
//
// Prints one "ok <step>" line per step and, last, "RESULT {json}"; exits 1 with "FAIL ..." on the
// first mismatch or error.
package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"golang.org/x/net/http2"
)

const nRecords = 20

var result = map[string]interface{}{}

func fail(format string, a ...interface{}) {
	fmt.Printf("FAIL "+format+"\n", a...)
	os.Exit(1)
}

func check(err error, what string) {
	if err != nil {
		fail("%s: %v", what, err)
	}
}

// h2cClient speaks HTTP/2 with prior knowledge over plain TCP (what event streams need against an
// http:// endpoint).
func h2cClient() *http.Client {
	return &http.Client{Transport: &http2.Transport{
		AllowHTTP: true,
		DialTLSContext: func(ctx context.Context, network, addr string, _ *tls.Config) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		},
	}}
}

func newClient(endpoint string, h2c bool) *kinesis.Client {
	cfg := aws.Config{
		Region:      "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
	}
	return kinesis.NewFromConfig(cfg, func(o *kinesis.Options) {
		o.EndpointResolver = kinesis.EndpointResolverFromURL(endpoint)
		if h2c {
			o.HTTPClient = h2cClient()
		}
	})
}

func createStream(ctx context.Context, c *kinesis.Client, name string) string {
	_, err := c.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String(name), ShardCount: aws.Int32(1)})
	check(err, "CreateStream "+name)
	for i := 0; i < 100; i++ {
		d, err := c.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(name)})
		check(err, "DescribeStreamSummary")
		if d.StreamDescriptionSummary.StreamStatus == types.StreamStatusActive {
			return aws.ToString(d.StreamDescriptionSummary.StreamARN)
		}
		time.Sleep(100 * time.Millisecond)
	}
	fail("stream %s not ACTIVE", name)
	return ""
}

func shardID(ctx context.Context, c *kinesis.Client, name string) string {
	ls, err := c.ListShards(ctx, &kinesis.ListShardsInput{StreamName: aws.String(name)})
	check(err, "ListShards")
	if len(ls.Shards) != 1 {
		fail("ListShards: %d shards, want 1", len(ls.Shards))
	}
	return aws.ToString(ls.Shards[0].ShardId)
}

type put struct {
	data []byte
	key  string
	seq  string
}

// stepPutGet: PutRecords + GetRecords through the default (HTTP/1.1) client.
func stepPutGet(ctx context.Context, endpoint string) {
	c := newClient(endpoint, false)
	name := fmt.Sprintf("go-putget-%d", time.Now().UnixNano())
	createStream(ctx, c, name)
	shard := shardID(ctx, c, name)
	var entries []types.PutRecordsRequestEntry
	for i := 0; i < 10; i++ {
		data := []byte{byte(i), 0, 255, byte(i * 7)}
		data = append(data, []byte(fmt.Sprintf("go-%d", i))...)
		entries = append(entries, types.PutRecordsRequestEntry{Data: data, PartitionKey: aws.String(fmt.Sprintf("k%d", i))})
	}
	pr, err := c.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String(name), Records: entries})
	check(err, "PutRecords")
	if aws.ToInt32(pr.FailedRecordCount) != 0 || len(pr.Records) != len(entries) {
		fail("PutRecords: failed=%d results=%d", aws.ToInt32(pr.FailedRecordCount), len(pr.Records))
	}
	it, err := c.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: aws.String(name), ShardId: aws.String(shard), ShardIteratorType: types.ShardIteratorTypeTrimHorizon})
	check(err, "GetShardIterator")
	gr, err := c.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: it.ShardIterator})
	check(err, "GetRecords")
	if len(gr.Records) != len(entries) {
		fail("GetRecords: %d records, want %d", len(gr.Records), len(entries))
	}
	for i, r := range gr.Records {
		if !bytes.Equal(r.Data, entries[i].Data) || aws.ToString(r.PartitionKey) != aws.ToString(entries[i].PartitionKey) ||
			aws.ToString(r.SequenceNumber) != aws.ToString(pr.Records[i].SequenceNumber) ||
			aws.ToString(pr.Records[i].ShardId) != shard || r.ApproximateArrivalTimestamp == nil {
			fail("GetRecords record %d: data=%x key=%s seq=%s, want data=%x key=%s seq=%s shard=%s",
				i, r.Data, aws.ToString(r.PartitionKey), aws.ToString(r.SequenceNumber),
				entries[i].Data, aws.ToString(entries[i].PartitionKey), aws.ToString(pr.Records[i].SequenceNumber), aws.ToString(pr.Records[i].ShardId))
		}
	}
	if gr.NextShardIterator == nil || aws.ToInt64(gr.MillisBehindLatest) != 0 {
		fail("GetRecords: NextShardIterator=%v MillisBehindLatest=%d", gr.NextShardIterator, aws.ToInt64(gr.MillisBehindLatest))
	}
	_, err = c.DeleteStream(ctx, &kinesis.DeleteStreamInput{StreamName: aws.String(name)})
	check(err, "DeleteStream")
	result["putGetRecords"] = len(gr.Records)
	fmt.Printf("ok putrecords-getrecords %d records over HTTP/1.1\n", len(gr.Records))
}

// collect reads events until want records arrived (or the deadline), returning the records and
// the number of events seen.
func collect(stream *kinesis.SubscribeToShardEventStream, want int, deadline time.Duration) ([]types.Record, int) {
	var recs []types.Record
	events := 0
	timer := time.NewTimer(deadline)
	defer timer.Stop()
	for len(recs) < want {
		select {
		case ev, ok := <-stream.Events():
			if !ok {
				fail("event stream ended after %d of %d records: err=%v", len(recs), want, stream.Err())
			}
			e, isEvent := ev.(*types.SubscribeToShardEventStreamMemberSubscribeToShardEvent)
			if !isEvent {
				fail("unexpected event type %T", ev)
			}
			events++
			if e.Value.ContinuationSequenceNumber == nil || e.Value.MillisBehindLatest == nil {
				fail("event %d without ContinuationSequenceNumber/MillisBehindLatest", events)
			}
			recs = append(recs, e.Value.Records...)
		case <-timer.C:
			fail("timed out with %d of %d records after %d events", len(recs), want, events)
		}
	}
	return recs, events
}

func compare(what string, got []types.Record, puts []put) {
	if len(got) != len(puts) {
		fail("%s: %d records, want %d", what, len(got), len(puts))
	}
	for i, r := range got {
		if !bytes.Equal(r.Data, puts[i].data) || aws.ToString(r.PartitionKey) != puts[i].key ||
			aws.ToString(r.SequenceNumber) != puts[i].seq || r.ApproximateArrivalTimestamp == nil {
			fail("%s record %d: data=%q key=%s seq=%s, want data=%q key=%s seq=%s", what, i,
				r.Data, aws.ToString(r.PartitionKey), aws.ToString(r.SequenceNumber), puts[i].data, puts[i].key, puts[i].seq)
		}
	}
}

// registerConsumer registers a consumer and waits (DescribeStreamConsumer) until it is ACTIVE.
func registerConsumer(ctx context.Context, c *kinesis.Client, streamARN, name string) string {
	reg, err := c.RegisterStreamConsumer(ctx, &kinesis.RegisterStreamConsumerInput{StreamARN: aws.String(streamARN), ConsumerName: aws.String(name)})
	check(err, "RegisterStreamConsumer "+name)
	consumerARN := aws.ToString(reg.Consumer.ConsumerARN)
	for i := 0; i < 100; i++ {
		d, err := c.DescribeStreamConsumer(ctx, &kinesis.DescribeStreamConsumerInput{ConsumerARN: aws.String(consumerARN)})
		check(err, "DescribeStreamConsumer "+name)
		cd := d.ConsumerDescription
		if aws.ToString(cd.ConsumerName) != name || aws.ToString(cd.StreamARN) != streamARN || aws.ToString(cd.ConsumerARN) != consumerARN {
			fail("DescribeStreamConsumer: name=%s streamARN=%s consumerARN=%s", aws.ToString(cd.ConsumerName), aws.ToString(cd.StreamARN), aws.ToString(cd.ConsumerARN))
		}
		if cd.ConsumerStatus == types.ConsumerStatusActive {
			return consumerARN
		}
		time.Sleep(100 * time.Millisecond)
	}
	fail("consumer %s not ACTIVE", name)
	return ""
}

func stepSubscribe(ctx context.Context, endpoint string) {
	c := newClient(endpoint, true)
	name := fmt.Sprintf("go-efo-%d", time.Now().UnixNano())
	arn := createStream(ctx, c, name)
	shard := shardID(ctx, c, name)
	consumerARN := registerConsumer(ctx, c, arn, "go-consumer")

	sub, err := c.SubscribeToShard(ctx, &kinesis.SubscribeToShardInput{
		ConsumerARN: aws.String(consumerARN), ShardId: aws.String(shard),
		StartingPosition: &types.StartingPosition{Type: types.ShardIteratorTypeLatest},
	})
	check(err, "SubscribeToShard LATEST")
	stream := sub.GetStream()

	puts := make([]put, 0, nRecords)
	t0 := time.Now()
	for i := 0; i < nRecords; i++ {
		data := []byte(fmt.Sprintf("go-efo-record-%02d-\x00\xff", i))
		key := fmt.Sprintf("pk-%d", i)
		pr, err := c.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String(name), Data: data, PartitionKey: aws.String(key)})
		check(err, fmt.Sprintf("PutRecord %d", i))
		if aws.ToString(pr.ShardId) != shard {
			fail("PutRecord %d: shard %s, want %s", i, aws.ToString(pr.ShardId), shard)
		}
		puts = append(puts, put{data, key, aws.ToString(pr.SequenceNumber)})
	}
	recs, events := collect(stream, nRecords, 15*time.Second)
	elapsed := time.Since(t0)
	compare("SubscribeToShard LATEST", recs, puts)
	check(stream.Close(), "event stream Close")
	result["subscribeLatest"] = map[string]interface{}{"records": len(recs), "events": events, "ms": elapsed.Milliseconds()}
	fmt.Printf("ok subscribe-latest %d records in %d events over h2c (%d ms)\n", len(recs), events, elapsed.Milliseconds())

	// TRIM_HORIZON: the same records from the start, on a second consumer. (The same consumer
	// would race: Close() resets the HTTP/2 stream asynchronously, and a new SubscribeToShard for
	// the same consumer and shard while the old one is still open, within 5 s of its start, is a
	// ResourceInUseException, as on AWS.)
	consumer2ARN := registerConsumer(ctx, c, arn, "go-consumer-2")
	sub2, err := c.SubscribeToShard(ctx, &kinesis.SubscribeToShardInput{
		ConsumerARN: aws.String(consumer2ARN), ShardId: aws.String(shard),
		StartingPosition: &types.StartingPosition{Type: types.ShardIteratorTypeTrimHorizon},
	})
	check(err, "SubscribeToShard TRIM_HORIZON")
	stream2 := sub2.GetStream()
	recs2, events2 := collect(stream2, nRecords, 15*time.Second)
	compare("SubscribeToShard TRIM_HORIZON", recs2, puts)
	check(stream2.Close(), "event stream Close (TRIM_HORIZON)")
	result["subscribeTrimHorizon"] = map[string]interface{}{"records": len(recs2), "events": events2}
	fmt.Printf("ok subscribe-trim-horizon %d records in %d events\n", len(recs2), events2)

	for _, a := range []string{consumerARN, consumer2ARN} {
		_, err = c.DeregisterStreamConsumer(ctx, &kinesis.DeregisterStreamConsumerInput{ConsumerARN: aws.String(a)})
		check(err, "DeregisterStreamConsumer")
	}
	_, err = c.DeleteStream(ctx, &kinesis.DeleteStreamInput{StreamName: aws.String(name)})
	check(err, "DeleteStream")
}

func main() {
	endpoint := os.Getenv("KINESIS_ENDPOINT")
	if endpoint == "" {
		fail("KINESIS_ENDPOINT is not set")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	stepPutGet(ctx, endpoint)
	stepSubscribe(ctx, endpoint)
	out, _ := json.Marshal(result)
	fmt.Printf("RESULT %s\n", out)
}
