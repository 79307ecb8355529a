package runnel;

import static runnel.Main.*;

import java.net.URI;
import java.util.List;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.http.apache.ApacheHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.kinesis.KinesisClient;
import software.amazon.awssdk.services.kinesis.model.*;
import software.amazon.awssdk.services.kms.KmsClient;

/**
 * runnel's local KMS (docs/encryption.md) through the SDK's KMS client (JSON 1.1), and the KMS*
 * errors of Kinesis it provokes, as the Kinesis client's typed exceptions over CBOR and JSON.
 */
final class KmsChecks {
    private KmsChecks() {}

    static KmsClient kms(String endpoint, StaticCredentialsProvider creds) {
        return KmsClient.builder().endpointOverride(URI.create(endpoint)).region(Region.US_EAST_1)
            .credentialsProvider(creds).httpClientBuilder(ApacheHttpClient.builder())
            .overrideConfiguration(o -> o.retryStrategy(r -> r.maxAttempts(1))).build();
    }

    static String keyArn(String id) { return "arn:aws:kms:us-east-1:" + ACCOUNT + ":key/" + id; }

    static void put(KinesisClient k, String s) {
        eq(EncryptionType.KMS, k.putRecord(r -> r.streamName(s).partitionKey("k").data(bytes("x"))).encryptionType(),
            "PutRecord EncryptionType");
    }

    static void putMany(KinesisClient k, String s) {
        k.putRecords(r -> r.streamName(s).records(List.of(
            PutRecordsRequestEntry.builder().partitionKey("a").data(bytes("1")).build())));
    }

    /** An encrypted stream under a new key of the KMS at endpoint; returns the key id. */
    static String encrypted(Ctx c, KmsClient kms, String s) throws Exception {
        String id = kms.createKey(r -> r.description("java-sdk " + MODE)).keyMetadata().keyId();
        c.k.createStream(r -> r.streamName(s).shardCount(1));
        c.waitExists(s);
        c.k.startStreamEncryption(r -> r.streamName(s).encryptionType(EncryptionType.KMS).keyId(id));
        waitActive(c.k, s);
        return id;
    }

    /** Key states, on a runnel started with --kms-strict. */
    static void states(Ctx c, String endpoint) {
        KinesisClient k = c.k;
        KmsClient kms = kms(endpoint, CREDS);
        String s = c.name("kms");
        String[] key = new String[1];
        check(c.label + " KMS CreateKey, StartStreamEncryption with it", () -> {
            key[0] = encrypted(c, kms, s);
            put(k, s);
        });
        check(c.label + " KMSDisabledException (PutRecord, PutRecords, StartStreamEncryption), then enabled", () -> {
            kms.disableKey(r -> r.keyId(key[0]));
            String msg = keyArn(key[0]) + " is disabled.";
            expect(KmsDisabledException.class, 400, msg, () -> put(k, s));
            expect(KmsDisabledException.class, 400, msg, () -> putMany(k, s));
            expect(KmsDisabledException.class, 400, msg, () -> k.startStreamEncryption(
                r -> r.streamName(s).encryptionType(EncryptionType.KMS).keyId(keyArn(key[0]))));
            kms.enableKey(r -> r.keyId(key[0]));
            put(k, s);
        });
        check(c.label + " KMSInvalidStateException (pending deletion), cancelled -> Disabled", () -> {
            kms.scheduleKeyDeletion(r -> r.keyId(key[0]).pendingWindowInDays(7));
            String msg = keyArn(key[0]) + " is pending deletion.";
            expect(KmsInvalidStateException.class, 400, msg, () -> put(k, s));
            expect(KmsInvalidStateException.class, 400, msg,
                () -> read(k, s, "shardId-000000000000", ShardIteratorType.TRIM_HORIZON, null, null));
            kms.cancelKeyDeletion(r -> r.keyId(key[0]));
            eq(software.amazon.awssdk.services.kms.model.KeyState.DISABLED,
                kms.describeKey(r -> r.keyId(key[0])).keyMetadata().keyState(), "KeyState after CancelKeyDeletion");
            expect(KmsDisabledException.class, 400, keyArn(key[0]) + " is disabled.", () -> put(k, s));
        });
        check(c.label + " KMSNotFoundException for a key runnel's KMS does not hold (--kms-strict)", () -> {
            String unknown = "11111111-2222-3333-4444-555555555555";
            expect(KmsNotFoundException.class, 400, "Key '" + keyArn(unknown) + "' does not exist",
                () -> k.startStreamEncryption(r -> r.streamName(s).encryptionType(EncryptionType.KMS).keyId(unknown)));
        });
        check(c.label + " KMS NotFoundException (the KMS client's own)", () -> {
            try {
                kms.describeKey(r -> r.keyId("alias/java-none"));
                throw new AssertionError("no NotFoundException");
            } catch (software.amazon.awssdk.services.kms.model.NotFoundException e) {
                eq("Alias arn:aws:kms:us-east-1:" + ACCOUNT + ":alias/java-none is not found.",
                    e.awsErrorDetails().errorMessage(), "message");
            }
        });
        kms.close();
    }

    /** On the runnel with --credentials: the admin may use kinesis:* but no kms action. */
    static void accessDenied(String endpoint) {
        var admin = StaticCredentialsProvider.create(AwsBasicCredentials.create("AKIAJAVASDKADMIN0001", "admin-secret"));
        KinesisClient k = sync(endpoint, admin);
        KmsClient kms = kms(endpoint, admin);
        String s = "java-" + MODE + "-kms-denied";
        check("sync KMSAccessDeniedException (no kms:GenerateDataKey)", () -> {
            String id = encrypted(new Ctx("sync", k, null), kms, s);
            var e = expect(KmsAccessDeniedException.class, 400, null, () -> put(k, s));
            ok(e.awsErrorDetails().errorMessage().contains("is not authorized to perform: kms:GenerateDataKey on resource: "
                + keyArn(id)), "message " + e.awsErrorDetails().errorMessage());
        });
        kms.close();
    }
    /** On the runnel with --inject-errors: the KMS failures the local KMS never has, and the 5xx
     * answers, each arriving as the SDK's own exception type (or as KinesisException with its status). */
    static void injected(String endpoint) {
        KinesisClient k = sync(endpoint, CREDS);
        String s = "java-" + MODE + "-injected";
        k.createStream(r -> r.streamName(s).shardCount(1));
        check("sync KMSThrottlingException (injected)", () -> {
            var e = expect(KmsThrottlingException.class, 400, "The request was denied due to request throttling by AWS KMS.",
                () -> put(k, s));
            eq("KMSThrottlingException", e.awsErrorDetails().errorCode(), "error code");
        });
        check("sync KMSOptInRequired (injected)", () -> {
            var e = expect(KmsOptInRequiredException.class, 400, "The AWS access key ID needs a subscription for the service.",
                () -> k.putRecords(r -> r.streamName(s).records(PutRecordsRequestEntry.builder().partitionKey("k").data(bytes("x")).build())));
            eq("KMSOptInRequired", e.awsErrorDetails().errorCode(), "error code");
        });
        check("sync InternalFailure (injected, 500)", () -> {
            var e = expect(KinesisException.class, 500, null,
                () -> k.getShardIterator(r -> r.streamName(s).shardId("shardId-000000000000").shardIteratorType(ShardIteratorType.LATEST)));
            eq("InternalFailure", e.awsErrorDetails().errorCode(), "error code");
        });
        check("sync ServiceUnavailable (injected, 503)", () -> {
            var e = expect(KinesisException.class, 503, "Service Unavailable", () -> k.listStreams());
            eq("ServiceUnavailable", e.awsErrorDetails().errorCode(), "error code");
        });
        k.close();
    }
}
