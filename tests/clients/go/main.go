// The AWS SDK for Go v2 (github.com/aws/aws-sdk-go-v2, module mode, versions pinned in go.mod)
// against runnel. Run by run.sh with RN_ENDPOINT=http://127.0.0.1:PORT:
//
//	client records     the record path and typed errors (HTTP/1.1, the SDK's default client)
//	client subscribe   SubscribeToShard over HTTP/2 with prior knowledge (h2c): LATEST with 20
//	                   records put during the subscription, TRIM_HORIZON on a second consumer,
//	                   then the end of the stream at runnel's --subscription-lifetime
//	client verified    against runnel --credentials: RN_KEY/RN_SECRET may put, read and subscribe;
//	                   a wrong secret is InvalidSignatureException; RN_DENY_KEY/RN_DENY_SECRET
//	                   (a policy denying PutRecord) gets AccessDeniedException
//
// Prints one "ok <check>" line per check; exits 1 with "FAIL ..." on the first mismatch.
package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/smithy-go"
)

const nRecords = 20

func fail(format string, a ...interface{}) {
	fmt.Printf("FAIL "+format+"\n", a...)
	os.Exit(1)
}

func check(err error, what string) {
	if err != nil {
		fail("%s: %v", what, err)
	}
}

// h2cClient speaks HTTP/2 with prior knowledge over plain TCP (net/http's own, Go >= 1.24):
// what SubscribeToShard needs against an http:// endpoint, where the default client speaks HTTP/1.1.
func h2cClient() *http.Client {
	var p http.Protocols
	p.SetUnencryptedHTTP2(true)
	return &http.Client{Transport: &http.Transport{Protocols: &p}}
}

// newClient is the snippet tests/clients/go/README.md shows.
func newClient(key, secret string, h2c bool) *kinesis.Client {
	cfg := aws.Config{
		Region:      "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider(key, secret, ""),
	}
	return kinesis.NewFromConfig(cfg, func(o *kinesis.Options) {
		o.BaseEndpoint = aws.String(os.Getenv("RN_ENDPOINT"))
		if h2c {
			o.HTTPClient = h2cClient()
		}
	})
}

func devClient(h2c bool) *kinesis.Client {
	return newClient("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", h2c)
}

func createStream(ctx context.Context, c *kinesis.Client, name string, shards int32) string {
	_, err := c.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String(name), ShardCount: aws.Int32(shards)})
	check(err, "CreateStream "+name)
	for i := 0; i < 200; i++ {
		d, err := c.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(name)})
		check(err, "DescribeStreamSummary")
		s := d.StreamDescriptionSummary
		if s.StreamStatus == types.StreamStatusActive {
			if aws.ToInt32(s.OpenShardCount) != shards || aws.ToString(s.StreamName) != name {
				fail("DescribeStreamSummary: %d open shards, name %s", aws.ToInt32(s.OpenShardCount), aws.ToString(s.StreamName))
			}
			return aws.ToString(s.StreamARN)
		}
		time.Sleep(100 * time.Millisecond)
	}
	fail("stream %s not ACTIVE in 20 s", name)
	return ""
}

func shardIterator(ctx context.Context, c *kinesis.Client, in *kinesis.GetShardIteratorInput) *string {
	it, err := c.GetShardIterator(ctx, in)
	check(err, "GetShardIterator "+string(in.ShardIteratorType))
	return it.ShardIterator
}

func records(ctx context.Context) {
	c := devClient(false)
	name := "go-records"
	createStream(ctx, c, name, 2)
	fmt.Println("ok CreateStream, DescribeStreamSummary until ACTIVE")

	before := time.Now()
	p0, err := c.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String(name), Data: []byte("rec-0\x00\xff"), PartitionKey: aws.String("pk")})
	check(err, "PutRecord")
	shard := aws.ToString(p0.ShardId)
	var entries []types.PutRecordsRequestEntry
	for i := 1; i < 10; i++ {
		entries = append(entries, types.PutRecordsRequestEntry{Data: []byte(fmt.Sprintf("rec-%d\x00\xff", i)), PartitionKey: aws.String("pk")})
	}
	pr, err := c.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String(name), Records: entries})
	check(err, "PutRecords")
	if aws.ToInt32(pr.FailedRecordCount) != 0 || len(pr.Records) != len(entries) {
		fail("PutRecords: failed=%d results=%d", aws.ToInt32(pr.FailedRecordCount), len(pr.Records))
	}
	seqs := []string{aws.ToString(p0.SequenceNumber)}
	for _, r := range pr.Records {
		if aws.ToString(r.ShardId) != shard {
			fail("PutRecords: one key on shards %s and %s", shard, aws.ToString(r.ShardId))
		}
		seqs = append(seqs, aws.ToString(r.SequenceNumber))
	}
	fmt.Println("ok PutRecord, PutRecords (10 records, one partition key)")

	in := func(t types.ShardIteratorType) *kinesis.GetShardIteratorInput {
		return &kinesis.GetShardIteratorInput{StreamName: aws.String(name), ShardId: aws.String(shard), ShardIteratorType: t}
	}
	gr, err := c.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: shardIterator(ctx, c, in(types.ShardIteratorTypeTrimHorizon))})
	check(err, "GetRecords")
	if len(gr.Records) != 10 {
		fail("GetRecords TRIM_HORIZON: %d records, want 10", len(gr.Records))
	}
	for i, r := range gr.Records {
		want := []byte(fmt.Sprintf("rec-%d\x00\xff", i))
		if !bytes.Equal(r.Data, want) || aws.ToString(r.PartitionKey) != "pk" || aws.ToString(r.SequenceNumber) != seqs[i] {
			fail("GetRecords record %d: data=%q key=%s seq=%s", i, r.Data, aws.ToString(r.PartitionKey), aws.ToString(r.SequenceNumber))
		}
		ts := r.ApproximateArrivalTimestamp
		if ts == nil || ts.Before(before.Add(-2*time.Second)) || ts.After(time.Now().Add(2*time.Second)) {
			fail("GetRecords record %d: ApproximateArrivalTimestamp %v not near now", i, ts)
		}
	}
	if gr.NextShardIterator == nil || gr.MillisBehindLatest == nil {
		fail("GetRecords: NextShardIterator=%v MillisBehindLatest=%v", gr.NextShardIterator, gr.MillisBehindLatest)
	}
	fmt.Println("ok GetShardIterator TRIM_HORIZON, GetRecords (data, key, sequence, ApproximateArrivalTimestamp)")

	count := func(it *string) int {
		g, err := c.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: it})
		check(err, "GetRecords")
		return len(g.Records)
	}
	at := in(types.ShardIteratorTypeAtSequenceNumber)
	at.StartingSequenceNumber = aws.String(seqs[3])
	after := in(types.ShardIteratorTypeAfterSequenceNumber)
	after.StartingSequenceNumber = aws.String(seqs[3])
	ts := in(types.ShardIteratorTypeAtTimestamp)
	ts.Timestamp = aws.Time(before.Add(-time.Minute))
	if n := count(shardIterator(ctx, c, at)); n != 7 {
		fail("AT_SEQUENCE_NUMBER: %d records, want 7", n)
	}
	if n := count(shardIterator(ctx, c, after)); n != 6 {
		fail("AFTER_SEQUENCE_NUMBER: %d records, want 6", n)
	}
	if n := count(shardIterator(ctx, c, ts)); n != 10 {
		fail("AT_TIMESTAMP: %d records, want 10", n)
	}
	if n := count(shardIterator(ctx, c, in(types.ShardIteratorTypeLatest))); n != 0 {
		fail("LATEST: %d records, want 0", n)
	}
	fmt.Println("ok GetShardIterator AT_SEQUENCE_NUMBER, AFTER_SEQUENCE_NUMBER, AT_TIMESTAMP, LATEST")

	ls, err := c.ListShards(ctx, &kinesis.ListShardsInput{StreamName: aws.String(name), MaxResults: aws.Int32(1)})
	check(err, "ListShards")
	if len(ls.Shards) != 1 || ls.NextToken == nil {
		fail("ListShards page 1: %d shards, NextToken %v", len(ls.Shards), ls.NextToken)
	}
	ls2, err := c.ListShards(ctx, &kinesis.ListShardsInput{NextToken: ls.NextToken, MaxResults: aws.Int32(1)})
	check(err, "ListShards NextToken")
	if len(ls2.Shards) != 1 || aws.ToString(ls2.Shards[0].ShardId) == aws.ToString(ls.Shards[0].ShardId) {
		fail("ListShards page 2: %+v", ls2.Shards)
	}
	fmt.Println("ok ListShards paging (MaxResults 1, NextToken)")

	_, err = c.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String("go-no-such-stream")})
	var rnf *types.ResourceNotFoundException
	if !errors.As(err, &rnf) {
		fail("DescribeStreamSummary of a missing stream: %v, want *types.ResourceNotFoundException", err)
	}
	bad := in(types.ShardIteratorTypeAtSequenceNumber)
	bad.StartingSequenceNumber = aws.String("12345")
	_, err = c.GetShardIterator(ctx, bad)
	var inv *types.InvalidArgumentException
	if !errors.As(err, &inv) {
		fail("GetShardIterator AT_SEQUENCE_NUMBER 12345: %v, want *types.InvalidArgumentException", err)
	}
	fmt.Println("ok typed errors: *types.ResourceNotFoundException, *types.InvalidArgumentException")
}

type put struct {
	data []byte
	key  string
	seq  string
}

// collect reads events until want records arrived.
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

func registerConsumer(ctx context.Context, c *kinesis.Client, streamARN, name string) string {
	reg, err := c.RegisterStreamConsumer(ctx, &kinesis.RegisterStreamConsumerInput{StreamARN: aws.String(streamARN), ConsumerName: aws.String(name)})
	check(err, "RegisterStreamConsumer "+name)
	consumerARN := aws.ToString(reg.Consumer.ConsumerARN)
	for i := 0; i < 200; i++ {
		d, err := c.DescribeStreamConsumer(ctx, &kinesis.DescribeStreamConsumerInput{ConsumerARN: aws.String(consumerARN)})
		check(err, "DescribeStreamConsumer "+name)
		cd := d.ConsumerDescription
		if aws.ToString(cd.ConsumerName) != name || aws.ToString(cd.StreamARN) != streamARN {
			fail("DescribeStreamConsumer: name=%s streamARN=%s", aws.ToString(cd.ConsumerName), aws.ToString(cd.StreamARN))
		}
		if cd.ConsumerStatus == types.ConsumerStatusActive {
			return consumerARN
		}
		time.Sleep(100 * time.Millisecond)
	}
	fail("consumer %s not ACTIVE", name)
	return ""
}

func subscribe(ctx context.Context, c *kinesis.Client, consumerARN string, t types.ShardIteratorType) *kinesis.SubscribeToShardEventStream {
	sub, err := c.SubscribeToShard(ctx, &kinesis.SubscribeToShardInput{
		ConsumerARN: aws.String(consumerARN), ShardId: aws.String("shardId-000000000000"),
		StartingPosition: &types.StartingPosition{Type: t},
	})
	check(err, "SubscribeToShard "+string(t))
	return sub.GetStream()
}

func putN(ctx context.Context, c *kinesis.Client, name, prefix string, n int) []put {
	puts := make([]put, 0, n)
	for i := 0; i < n; i++ {
		data := []byte(fmt.Sprintf("%s-%02d-\x00\xff", prefix, i))
		key := fmt.Sprintf("pk-%d", i)
		pr, err := c.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String(name), Data: data, PartitionKey: aws.String(key)})
		check(err, fmt.Sprintf("PutRecord %d", i))
		puts = append(puts, put{data, key, aws.ToString(pr.SequenceNumber)})
	}
	return puts
}

func subscribeChecks(ctx context.Context) {
	c := devClient(true)
	name := "go-efo"
	arn := createStream(ctx, c, name, 1)
	consumerARN := registerConsumer(ctx, c, arn, "go-consumer")
	fmt.Println("ok RegisterStreamConsumer, DescribeStreamConsumer until ACTIVE (over h2c)")

	stream := subscribe(ctx, c, consumerARN, types.ShardIteratorTypeLatest)
	t0 := time.Now()
	puts := putN(ctx, c, name, "go-efo", nRecords)
	recs, events := collect(stream, nRecords, 15*time.Second)
	compare("SubscribeToShard LATEST", recs, puts)
	check(stream.Close(), "event stream Close")
	fmt.Printf("ok SubscribeToShard LATEST over h2c: %d records put during it, in %d events (%d ms)\n", len(recs), events, time.Since(t0).Milliseconds())

	// TRIM_HORIZON on a second consumer (a new subscription of the same consumer and shard within
	// 5 s of the last is ResourceInUseException, as on AWS), read to the end of its lifetime.
	consumer2 := registerConsumer(ctx, c, arn, "go-consumer-2")
	t1 := time.Now()
	stream2 := subscribe(ctx, c, consumer2, types.ShardIteratorTypeTrimHorizon)
	recs2, events2 := collect(stream2, nRecords, 15*time.Second)
	compare("SubscribeToShard TRIM_HORIZON", recs2, puts)
	for ev := range stream2.Events() {
		if e, ok := ev.(*types.SubscribeToShardEventStreamMemberSubscribeToShardEvent); !ok || len(e.Value.Records) != 0 {
			fail("after the last record: %T %+v", ev, ev)
		}
	}
	lasted := time.Since(t1)
	check(stream2.Err(), "event stream end")
	if lasted > 20*time.Second {
		fail("the subscription lasted %v, past its lifetime", lasted)
	}
	fmt.Printf("ok SubscribeToShard TRIM_HORIZON over h2c: %d records put before it, in %d events, ended cleanly at the lifetime after %d ms\n", len(recs2), events2, lasted.Milliseconds())
}

func verified(ctx context.Context) {
	c := newClient(os.Getenv("RN_KEY"), os.Getenv("RN_SECRET"), false)
	name := "go-verified"
	arn := createStream(ctx, c, name, 1)
	puts := putN(ctx, c, name, "go-verified", 3)
	gr, err := c.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: shardIterator(ctx, c, &kinesis.GetShardIteratorInput{
		StreamName: aws.String(name), ShardId: aws.String("shardId-000000000000"), ShardIteratorType: types.ShardIteratorTypeTrimHorizon})})
	check(err, "verified GetRecords")
	compare("verified GetRecords", gr.Records, puts)
	fmt.Println("ok verified: the right key puts (PutRecord) and reads (GetRecords)")

	h2 := newClient(os.Getenv("RN_KEY"), os.Getenv("RN_SECRET"), true)
	consumerARN := registerConsumer(ctx, h2, arn, "go-verified-consumer")
	stream := subscribe(ctx, h2, consumerARN, types.ShardIteratorTypeTrimHorizon)
	recs, _ := collect(stream, len(puts), 15*time.Second)
	compare("verified SubscribeToShard", recs, puts)
	check(stream.Close(), "event stream Close")
	fmt.Println("ok verified: the right key subscribes (SubscribeToShard over h2c, signed)")

	for _, h2c := range []bool{false, true} {
		wrong := newClient(os.Getenv("RN_KEY"), "not-the-secret-at-all", h2c)
		_, err = wrong.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String(name), Data: []byte("x"), PartitionKey: aws.String("k")})
		var ae smithy.APIError
		if !errors.As(err, &ae) || ae.ErrorCode() != "InvalidSignatureException" {
			fail("PutRecord with a wrong secret (h2c=%v): %v, want APIError InvalidSignatureException", h2c, err)
		}
	}
	wrong := newClient(os.Getenv("RN_KEY"), "not-the-secret-at-all", true)
	_, err = wrong.SubscribeToShard(ctx, &kinesis.SubscribeToShardInput{ConsumerARN: aws.String(consumerARN),
		ShardId: aws.String("shardId-000000000000"), StartingPosition: &types.StartingPosition{Type: types.ShardIteratorTypeLatest}})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "InvalidSignatureException" {
		fail("SubscribeToShard with a wrong secret: %v, want APIError InvalidSignatureException", err)
	}
	fmt.Println("ok verified: a wrong secret is InvalidSignatureException (PutRecord over HTTP/1.1 and h2c, SubscribeToShard)")

	deny := newClient(os.Getenv("RN_DENY_KEY"), os.Getenv("RN_DENY_SECRET"), false)
	_, err = deny.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String(name), Data: []byte("x"), PartitionKey: aws.String("k")})
	var ad *types.AccessDeniedException
	if !errors.As(err, &ad) {
		fail("PutRecord under a denying policy: %v, want *types.AccessDeniedException", err)
	}
	if _, err = deny.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(name)}); err != nil {
		fail("DescribeStreamSummary under a policy that denies PutRecord only: %v", err)
	}
	fmt.Println("ok verified: a policy denying PutRecord gets *types.AccessDeniedException (and allows the rest)")
}

func main() {
	if os.Getenv("RN_ENDPOINT") == "" || len(os.Args) != 2 {
		fail("usage: RN_ENDPOINT=http://... client records|subscribe|verified")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	switch os.Args[1] {
	case "records":
		records(ctx)
	case "subscribe":
		subscribeChecks(ctx)
	case "verified":
		verified(ctx)
	default:
		fail("unknown mode %s", os.Args[1])
	}
}
