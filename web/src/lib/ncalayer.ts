// NCALayer, the signing program of Kazakhstan's national certificates, listens on the user's
// own machine; the cabinet asks it for a CMS signature of the server's challenge (EDS login and
// registration). Nothing here sees the key or its password.
const NCALAYER_URL = 'wss://127.0.0.1:13579/';

export function signWithNcaLayer(dataBase64: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(NCALAYER_URL);
    socket.onerror = () => reject(new Error('ncalayer'));
    socket.onopen = () =>
      socket.send(
        JSON.stringify({
          module: 'kz.gov.pki.knca.commonUtils',
          method: 'createCMSSignatureFromBase64',
          args: ['PKCS12', 'AUTHENTICATION', dataBase64, true],
        }),
      );
    socket.onmessage = (m) => {
      const answer = JSON.parse(String(m.data)) as { code?: string; responseObject?: string };
      // The first message is NCALayer's greeting; the answer carries a code.
      if (answer.code === undefined) return;
      socket.close();
      if (answer.code === '200' && answer.responseObject) resolve(answer.responseObject);
      else reject(new Error(`ncalayer ${answer.code}`));
    };
  });
}
