import { createZodDto } from '../http/zod-dto';
import { z } from 'zod';
import { booleanFlag } from '../http/query';

const blank = "can't be blank";
const seconds = z.coerce.number().positive('must be greater than 0');
// Judge0's runtime knobs this platform takes but does not apply per submission (the template's limits do)
const ignored = z.union([z.number(), z.string(), z.boolean()]).nullish();

/** One submission as Judge0 CE documents it; attributes it does not know are dropped, as Judge0 does. */
export const judge0Submission = z.object({
  source_code: z.string({ error: blank }).min(1, blank),
  language_id: z.coerce.number({ error: blank }).int(),
  compiler_options: z.string().max(128).nullish(),
  command_line_arguments: z.string().max(128).nullish(),
  stdin: z.string().nullish(),
  expected_output: z.string().nullish(),
  cpu_time_limit: seconds.nullish(),
  cpu_extra_time: z.coerce.number().min(0).nullish(),
  wall_time_limit: seconds.nullish(),
  memory_limit: ignored,
  stack_limit: ignored,
  max_processes_and_or_threads: ignored,
  enable_per_process_and_thread_time_limit: ignored,
  enable_per_process_and_thread_memory_limit: ignored,
  max_file_size: ignored,
  number_of_runs: ignored,
  redirect_stderr_to_stdout: ignored,
  enable_network: ignored,
  callback_url: z.string().nullish(),
});
export type Judge0Submission = z.infer<typeof judge0Submission>;

/** Judge0's batch limit (MAX_SUBMISSION_BATCH_SIZE). */
export const BATCH_MAX = 20;

export const judge0Batch = z.object({ submissions: z.array(z.unknown()).min(1, blank).max(BATCH_MAX, `must contain at most ${BATCH_MAX} submissions`) });
export class Judge0BatchDto extends createZodDto(judge0Batch) {}

const base64Encoded = booleanFlag.optional().describe('text attributes (source_code, stdin, expected_output; stdout, stderr, compile_output, message) as base64');
const fields = z.string().max(1024).optional().describe('attributes to answer, comma-separated, or * for all (default: stdout,time,memory,stderr,token,compile_output,message,status)');
export class Judge0CreateQueryDto extends createZodDto(z.object({ base64_encoded: base64Encoded, wait: booleanFlag.optional(), fields })) {}
export class Judge0GetQueryDto extends createZodDto(z.object({ base64_encoded: base64Encoded, fields })) {}
export class Judge0BatchGetQueryDto extends createZodDto(
  z.object({ tokens: z.string({ error: blank }).min(1, blank).max(BATCH_MAX * 64), base64_encoded: base64Encoded, fields }),
) {}
