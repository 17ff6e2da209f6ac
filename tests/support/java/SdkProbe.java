import com.vpcp.services.KnobstickServiceImp;
import com.vpcp.services.VnptProperties;
import com.vpcp.services.model.BasicResult;
import com.vpcp.services.model.GetEdocResult;
import com.vpcp.services.model.SendEdocResult;

/** Runs one call of the national SDK (SDKVXP) as a DMS does and prints what the DMS sees, one line. */
public class SdkProbe {
    public static void main(String[] args) throws Exception {
        // endpoint systemId secret storeDir operation [file|docId]
        VnptProperties props = new VnptProperties(args[0], args[1], args[2], args[3], 3, 3);
        KnobstickServiceImp sdk = new KnobstickServiceImp(props);
        String op = args[4];
        try {
            if (op.equals("sendEdoc")) {
                SendEdocResult r = sdk.sendEdoc("{\"from\":\"" + args[6] + "\"}", args[5]);
                System.out.println("RESULT " + line(r) + "|" + r.getDocID());
            } else if (op.equals("getEdoc")) {
                GetEdocResult r = sdk.getEdoc("{\"docId\":\"" + args[5] + "\",\"filePath\":\"" + args[3] + "\"}");
                System.out.println("RESULT " + line(r) + "|" + r.getFilePath());
            } else if (op.equals("getReceivedEdocList")) {
                System.out.println("RESULT " + line(sdk.getReceivedEdocList("{\"messagetype\":\"edoc\"}")));
            } else if (op.equals("countReceiveEdoc")) {
                System.out.println("RESULT " + line(sdk.countReceiveEdoc("{}")));
            } else if (op.equals("updateStatus")) {
                System.out.println("RESULT " + line(sdk.updateStatus("{\"docid\":\"" + args[5] + "\",\"status\":\"done\"}")));
            }
        } catch (NullPointerException e) {
            System.out.println("NPE " + e);
        }
    }

    static String line(BasicResult r) {
        return r == null ? "null" : r.getStatus() + "|" + r.getErrorCode() + "|" + r.getErrorDesc();
    }
}
