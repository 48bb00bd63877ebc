/** JMH benchmarks and the load driver; see docs/benchmarks.md. */
package io.github.apisixsession.benchmarks;
