package ai.gpt.api.webhooks;

import io.vertx.core.net.TrustOptions;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.Arrays;
import java.util.Collection;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * Which certificates an https delivery accepts: the JDK's system CAs, plus the CA certificates of WEBHOOK_CA_FILE
 * when it is set (a receiver behind a company CA, the tests' self-signed receiver). A chain is accepted when either
 * set validates it; host name checks stay on (the HTTP client verifies the name in the URL). Nothing here can
 * accept an arbitrary certificate.
 */
final class WebhookTrust {
  private WebhookTrust() {}

  /** Null for the system CAs alone (the HTTP client's default); else the system CAs and the file's. */
  static TrustOptions options(String caFile) {
    if (caFile == null) {
      return null;
    }
    try {
      return TrustOptions.wrap(new Either(trustManager(null), trustManager(extraCas(Path.of(caFile)))));
    } catch (IOException | GeneralSecurityException e) {
      throw new IllegalStateException("WEBHOOK_CA_FILE " + caFile + ": " + e.getMessage(), e);
    }
  }

  private static KeyStore extraCas(Path file) throws IOException, GeneralSecurityException {
    KeyStore store = KeyStore.getInstance(KeyStore.getDefaultType());
    store.load(null, null);
    Collection<? extends Certificate> certs;
    try (InputStream in = Files.newInputStream(file)) {
      certs = CertificateFactory.getInstance("X.509").generateCertificates(in);
    }
    if (certs.isEmpty()) {
      throw new CertificateException("holds no PEM certificate");
    }
    int i = 0;
    for (Certificate c : certs) {
      store.setCertificateEntry("webhook-ca-" + i++, c);
    }
    return store;
  }

  /** The JDK's X.509 trust manager over {@code store}; null: the system CAs (cacerts). */
  private static X509ExtendedTrustManager trustManager(KeyStore store) throws GeneralSecurityException {
    TrustManagerFactory f = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    f.init(store);
    for (TrustManager tm : f.getTrustManagers()) {
      if (tm instanceof X509ExtendedTrustManager x) {
        return x;
      }
    }
    throw new GeneralSecurityException("no X.509 trust manager");
  }

  /** Trusts a server chain that the system CAs or the extra CAs validate (the JDK's own checks in both). */
  private static final class Either extends X509ExtendedTrustManager {
    private final X509ExtendedTrustManager system;
    private final X509ExtendedTrustManager extra;

    Either(X509ExtendedTrustManager system, X509ExtendedTrustManager extra) {
      this.system = system;
      this.extra = extra;
    }

    private interface Check {
      void run(X509ExtendedTrustManager tm) throws CertificateException;
    }

    private void either(Check check) throws CertificateException {
      try {
        check.run(system);
      } catch (CertificateException notBySystem) {
        try {
          check.run(extra);
        } catch (CertificateException notByExtra) {
          notByExtra.addSuppressed(notBySystem);
          throw notByExtra;
        }
      }
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
        throws CertificateException {
      either(tm -> tm.checkServerTrusted(chain, authType, engine));
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket)
        throws CertificateException {
      either(tm -> tm.checkServerTrusted(chain, authType, socket));
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
      either(tm -> tm.checkServerTrusted(chain, authType));
    }

    /** Webhook deliveries are a client only; no client certificate is ever accepted. */
    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
      throw new CertificateException("client certificates are not accepted");
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket)
        throws CertificateException {
      throw new CertificateException("client certificates are not accepted");
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
        throws CertificateException {
      throw new CertificateException("client certificates are not accepted");
    }

    @Override
    public X509Certificate[] getAcceptedIssuers() {
      X509Certificate[] a = system.getAcceptedIssuers();
      X509Certificate[] b = extra.getAcceptedIssuers();
      X509Certificate[] all = Arrays.copyOf(a, a.length + b.length);
      System.arraycopy(b, 0, all, a.length, b.length);
      return all;
    }
  }
}
