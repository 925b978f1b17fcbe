// Elasticsearch 9.4.3 is the newest 9.x whose integ-test-zip resolved from Maven Central
// and ran here (under Temurin 25). The @elastic/elasticsearch client is pinned to the
// same major and minor (~9.4.3): 9.5 clients need Node 22, and a 9.x client's
// compatibility headers are refused by 8.x servers.
export const ELASTICSEARCH_VERSION = '9.4.3';
export const ELASTICSEARCH_ARTIFACT = `org.elasticsearch.distribution.integ-test-zip:elasticsearch:${ELASTICSEARCH_VERSION}:zip`;
/** Elasticsearch 9 needs Java 21 or newer. */
export const ELASTICSEARCH_MIN_JAVA = 21;
