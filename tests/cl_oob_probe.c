/* A deliberately broken OpenCL program: a kernel writes one element past
 * its buffer. tests/meson.build runs it under tools/oclgrind-check.sh and
 * expects failure, proving the wrapper fails on an oclgrind report. */
#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>
#include <stdio.h>

static const char *src =
    "__kernel void oob(__global float *a) { a[get_global_id(0) + 1] = 1.0f; }";

int main(void) {
  cl_platform_id p;
  cl_device_id d;
  cl_int rc;
  if (clGetPlatformIDs(1, &p, NULL) != CL_SUCCESS ||
      clGetDeviceIDs(p, CL_DEVICE_TYPE_ALL, 1, &d, NULL) != CL_SUCCESS) {
    fprintf(stderr, "no OpenCL device\n");
    return 2;
  }
  cl_context c = clCreateContext(NULL, 1, &d, NULL, NULL, &rc);
  cl_command_queue q = clCreateCommandQueue(c, d, 0, &rc);
  cl_program prog = clCreateProgramWithSource(c, 1, &src, NULL, &rc);
  clBuildProgram(prog, 1, &d, NULL, NULL, NULL);
  cl_kernel k = clCreateKernel(prog, "oob", &rc);
  cl_mem m = clCreateBuffer(c, CL_MEM_READ_WRITE, 4 * sizeof(float), NULL, &rc);
  clSetKernelArg(k, 0, sizeof m, &m);
  size_t g = 4;
  clEnqueueNDRangeKernel(q, k, 1, NULL, &g, NULL, 0, NULL, NULL);
  clFinish(q);
  clReleaseMemObject(m);
  clReleaseKernel(k);
  clReleaseProgram(prog);
  clReleaseCommandQueue(q);
  clReleaseContext(c);
  return 0;
}
